"""The queue's weekly time slots per account: weekday and local time in the account's zone."""

from __future__ import annotations

from datetime import time

from sqlmodel import Session, select

from socialhub.schedule.models import TimeSlot
from socialhub.core.errors import ValidationError
from socialhub.channels.accounts import get_account
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _parse_time(value: time | str) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    try:
        hours, minutes = str(value).strip().split(":")[:2]
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ValidationError(f"{str(value)[:10]!r} is not a time; use HH:MM, like 09:30.") from None


def set_time_slots(session: Session, *, team_id: int, actor_id: int, account_id: int,
                   slots: list[tuple[int, time | str]]) -> list[TimeSlot]:
    """Replace the account's weekly slots: (weekday 0 = Monday … 6 = Sunday, local time)."""
    account = get_account(session, team_id=team_id, user_id=actor_id, account_id=account_id, minimum="admin")
    clean = set()
    for weekday, at in slots:
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValidationError("Weekdays go from 0 (Monday) to 6 (Sunday).")
        clean.add((weekday, _parse_time(at)))
    if len(clean) > 7 * 48:
        raise ValidationError("That is too many time slots; use at most 48 a day.")
    for row in session.exec(select(TimeSlot).where(TimeSlot.account_id == account.id)):
        session.delete(row)
    session.flush()
    rows = [TimeSlot(account_id=account.id, weekday=w, local_time=t) for w, t in sorted(clean)]
    session.add_all(rows)
    session.flush()
    return rows


def list_time_slots(session: Session, *, team_id: int, user_id: int, account_id: int) -> list[TimeSlot]:
    account = get_account(session, team_id=team_id, user_id=user_id, account_id=account_id)
    return list(session.exec(select(TimeSlot).where(TimeSlot.account_id == account.id)
                             .order_by(TimeSlot.weekday, TimeSlot.local_time)))
