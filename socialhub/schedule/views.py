"""Read-only views the Schedule pages need, composed from the publishing services.

No rules of its own: the limits come from the adapters (`platform_accounts.limits_for`), the
counting from `content.count_for`, the membership check from `list_accounts`.
It exists so the page states do not assemble these themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from socialhub.channels import accounts as platform_accounts
from socialhub.schedule import content
from socialhub.schedule.content import Counter


@dataclass(frozen=True)
class ComposerAccount:
    """An account in the composer's picker, with what its platform allows."""

    id: int
    platform: str
    platform_name: str
    handle: str
    display_name: str
    status: str
    status_detail: str
    max_text_length: int
    max_media_count: int
    supports_threads: bool
    supports_first_comment: bool

    @property
    def label(self) -> str:
        return f"{self.platform_name} {self.handle}".strip()


def composer_accounts(session: Session, *, team_id: int, user_id: int) -> list[ComposerAccount]:
    """The team's connected accounts (hub first) with their limits. Any member may read them."""
    out = []
    for view in platform_accounts.list_accounts(session, team_id=team_id, user_id=user_id):
        account = platform_accounts.get_account(session, team_id=team_id, user_id=user_id, account_id=view.id)
        limits = platform_accounts.limits_for(account)
        out.append(ComposerAccount(
            id=view.id, platform=view.platform, platform_name=view.platform_name, handle=view.handle,
            display_name=view.display_name, status=view.status, status_detail=view.status_detail,
            max_text_length=view.max_text_length or limits.max_text_length, max_media_count=limits.max_media_count,
            supports_threads=limits.supports_threads, supports_first_comment=limits.supports_first_comment,
        ))
    return out


def platform_counter(accounts: Sequence[ComposerAccount], platform: str, text: str) -> Counter:
    """One counter for a platform's own version: counted its way, against the smallest limit of
    the chosen accounts on it (Mastodon instances differ)."""
    count, limit = content.count_for(platform, content.clean_text(text))
    limits = [a.max_text_length for a in accounts if a.platform == platform and a.max_text_length]
    return Counter(None, platform, count, min(limits) if limits else limit)


