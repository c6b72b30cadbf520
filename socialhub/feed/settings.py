"""A reader's feed settings: digest time, size, minimum score, topics, weights, switches.

The digest time is a wall-clock time in the user's own time zone (`User.timezone`);
`next_digest_at` stores the next such moment in UTC so the scheduler finds due users with one
indexed query. It is recomputed whenever the settings are saved and after every scheduled build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from socialhub.core.models import utcnow
from socialhub.identity.models import User
from socialhub.feed.models import FeedScore, FeedSettings
from socialhub.core.errors import NotFound, ValidationError

MAX_TOPICS = 20
MAX_TOPIC_CHARS = 60
MAX_ITEMS = (1, 30)
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
WEIGHT_NAMES = ("relevance", "recency", "reliability", "engagement")


@dataclass(frozen=True)
class Weights:
    relevance: float
    recency: float
    reliability: float
    engagement: float

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in WEIGHT_NAMES}


def weights_of(settings: FeedSettings) -> Weights:
    return Weights(settings.weight_relevance, settings.weight_recency, settings.weight_reliability,
                   settings.weight_engagement)


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_day(user: User, now: datetime | None = None) -> date:
    """Today's date where the user is."""
    return (now or utcnow()).astimezone(_zone(user)).date()


def next_digest_at(digest_time: str, user: User, now: datetime | None = None) -> datetime:
    """The next moment (UTC) after `now` when it is `digest_time` in the user's time zone."""
    now = now or utcnow()
    zone = _zone(user)
    hour, minute = (int(part) for part in digest_time.split(":"))
    local_now = now.astimezone(zone)
    candidate = datetime.combine(local_now.date(), time(hour, minute), tzinfo=zone)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), time(hour, minute), tzinfo=zone)
    return candidate.astimezone(now.tzinfo)


def get_or_create(session: Session, *, user_id: int) -> FeedSettings:
    row = session.get(FeedSettings, user_id)
    if row is None:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("This account no longer exists.")
        row = FeedSettings(user_id=user_id)
        row.next_digest_at = next_digest_at(row.digest_time, user)
        session.add(row)
        session.flush()
    return row


def set_show_images(session: Session, *, user_id: int, show: bool) -> FeedSettings:
    """Show feeds' pictures (loaded from the publishers' servers, who then see the reader's IP
    address) or not (the default)."""
    settings = get_or_create(session, user_id=user_id)
    settings.show_images = bool(show)
    settings.updated_at = utcnow()
    session.add(settings)
    session.flush()
    return settings


def parse_topics(value: str | list[str]) -> list[str]:
    """Topics from "python, open source; rust" or a list: trimmed, unique, each a short phrase."""
    parts = value if isinstance(value, list) else re.split(r"[,;\n]", value or "")
    topics: list[str] = []
    for part in parts:
        topic = " ".join(str(part).replace("\x00", "").split())
        if not topic:
            continue
        if len(topic) > MAX_TOPIC_CHARS:
            raise ValidationError(f"Keep each topic under {MAX_TOPIC_CHARS} characters.")
        if topic.lower() not in (t.lower() for t in topics):
            topics.append(topic)
    if len(topics) > MAX_TOPICS:
        raise ValidationError(f"Use at most {MAX_TOPICS} topics.")
    return topics


def _number(value, label: str, low: float, high: float) -> float:
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        raise ValidationError(f"{label} must be a number from {low:g} to {high:g}.") from None
    if not low <= number <= high or number != number:
        raise ValidationError(f"{label} must be a number from {low:g} to {high:g}.")
    return number


def update_settings(
    session: Session, *, user_id: int, digest_time: str, max_items, min_score, topics: str | list[str],
    weights: dict[str, object], auto_generate: bool, auto_email: bool, auto_post: bool,
    email_notifications: bool, post_account_id: int | None = None,
) -> FeedSettings:
    row = get_or_create(session, user_id=user_id)
    digest_time = (digest_time or "").strip()
    if not _TIME.match(digest_time):
        raise ValidationError("Enter the digest time as hours and minutes, like 07:30.")
    hour, minute = digest_time.split(":")
    count = _number(max_items, "Stories per digest", *MAX_ITEMS)
    if count != int(count):
        raise ValidationError("Stories per digest must be a whole number.")
    parsed = {name: _number(weights.get(name, 0), f"The {name} weight", 0, 10) for name in WEIGHT_NAMES}
    if sum(parsed.values()) <= 0:
        raise ValidationError("At least one weight must be above zero.")
    row.digest_time = f"{int(hour):02d}:{minute}"
    row.max_items = int(count)
    row.min_score = _number(min_score, "The minimum score", 0, 100)
    row.topics = parse_topics(topics)
    row.weight_relevance, row.weight_recency = parsed["relevance"], parsed["recency"]
    row.weight_reliability, row.weight_engagement = parsed["reliability"], parsed["engagement"]
    row.auto_generate, row.auto_email, row.auto_post = bool(auto_generate), bool(auto_email), bool(auto_post)
    row.email_notifications = bool(email_notifications)
    row.post_account_id = post_account_id
    user = session.get(User, user_id)
    row.next_digest_at = next_digest_at(row.digest_time, user)
    row.updated_at = utcnow()
    session.add(row)
    # Topics and weights change every score: today's are recomputed on next use.
    session.execute(FeedScore.__table__.delete().where(FeedScore.user_id == user_id,
                                                        FeedScore.day >= local_day(user)))
    session.flush()
    return row


def users_with_settings(session: Session) -> list[int]:
    return list(session.exec(select(FeedSettings.user_id)))
