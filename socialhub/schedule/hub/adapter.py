"""`hub`: the platform adapter that publishes into SocialHub's own timeline.

It keeps the same `PlatformAdapter` contract as the HTTP adapters, so the publisher treats it
like any other platform, but it writes rows instead of calling an API, which is why it lives in
the services layer and is registered here with `register_adapter("hub", HubAdapter)`.

- Works offline and never needs a token refresh: the account's `account_id` is a hub profile id.
- Idempotent by construction: every part is inserted with its idempotency key under a unique
  constraint (`INSERT … ON CONFLICT DO NOTHING`), so a repeat returns the post it already made.
- Each `publish` commits its own short transaction, then announces the new posts to the
  profile's followers on the event bus (their home feeds update live).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from socialhub.channels.adapters.base import PlatformAdapter, PlatformLimits
from socialhub.channels.adapters.exceptions import AuthError, PlatformError
from socialhub.channels.adapters.registry import register_adapter
from socialhub.channels.adapters.types import (
    AccountCredentials,
    MediaItem,
    OAuthTokens,
    PublishRequest,
    PublishResult,
)
from socialhub.schedule.hub.models import Profile, SocialPost

MB = 1024 * 1024
MAX_TEXT_LENGTH = 5000


def _default_session_factory() -> AbstractContextManager[Session]:
    from socialhub.core.db import session_scope

    return session_scope()


class HubAdapter(PlatformAdapter):
    """SocialHub's own timeline. `account_id` is the hub profile id."""

    # -- metadata -----------------------------------------------------------------------------

    name = "hub"
    display_name = "SocialHub"
    counts_graphemes = True
    platform_idempotency = True

    _LIMITS = PlatformLimits(
        max_text_length=MAX_TEXT_LENGTH,
        max_media_count=4,
        image_types=frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
        video_types=frozenset({"video/mp4", "video/webm", "video/quicktime"}),
        max_image_bytes=20 * MB,
        max_video_bytes=200 * MB,
        max_alt_text_length=1500,
        supports_threads=True,
        supports_first_comment=True,
    )

    def __init__(self, *, session_factory: Callable[[], AbstractContextManager[Session]] | None = None, **_: Any) -> None:
        self._session_factory = session_factory or _default_session_factory
        self._http = None

    @property
    def limits(self) -> PlatformLimits:
        return self._LIMITS

    def count_text(self, text: str) -> int:
        from socialhub.channels.adapters.text import count_graphemes

        return count_graphemes(text)

    # -- auth ---------------------------------------------------------------------------------

    def refresh_token(self, account: AccountCredentials) -> OAuthTokens:
        """Hub accounts have no token to refresh."""
        return OAuthTokens(access_token=account.access_token, account_id=account.account_id, handle=account.handle)

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, account: AccountCredentials, post: PublishRequest) -> PublishResult:
        self.check(post)
        profile_id = self._profile_id(account)
        with self._session_factory() as session:
            profile = session.get(Profile, profile_id)
            if profile is None:
                raise AuthError("this SocialHub profile no longer exists; reconnect the account", platform=self.name)
            ids: list[int] = []
            parent = int(post.reply_to) if post.reply_to else None
            for index, part in enumerate(post.parts):
                parent = self._insert(session, profile_id, part.text, part.media, parent, post.part_key(index))
                ids.append(parent)
            comment_id = None
            if post.first_comment:
                comment_id = self._insert(session, profile_id, post.first_comment, (), ids[0], f"{post.idempotency_key}#comment")
            self._announce(session, profile, ids)
            handle = profile.handle
        return PublishResult(
            platform_post_id=str(ids[0]),
            url=post_url(handle, ids[0]),
            thread_post_ids=tuple(str(i) for i in ids),
            first_comment_id=str(comment_id) if comment_id else None,
        )

    def _insert(self, session: Session, profile_id: int, text: str, media: Sequence[MediaItem], reply_to: int | None, key: str) -> int:
        values = {
            "profile_id": profile_id,
            "text": text,
            "media": [_media_json(m) for m in media],
            "reply_to_id": reply_to,
            "idempotency_key": key,
        }
        stmt = insert(SocialPost).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(SocialPost.id)
        new_id = session.execute(stmt).scalar()
        if new_id is not None:
            return new_id
        return session.exec(select(SocialPost.id).where(SocialPost.idempotency_key == key)).one()

    def _announce(self, session: Session, profile: Profile, ids: list[int]) -> None:
        from socialhub.core import events
        from socialhub.schedule.hub import timeline

        users = set(timeline.follower_user_ids(session, profile_id=profile.id))
        if profile.user_id:
            users.add(profile.user_id)
        if users:
            events.publish(session, kind="timeline", user_ids=users, data={"profile_id": profile.id, "post_ids": ids})

    def delete(self, account: AccountCredentials, platform_post_id: str) -> None:
        profile_id = self._profile_id(account)
        with self._session_factory() as session:
            row = session.get(SocialPost, int(platform_post_id))
            if row is not None and row.profile_id == profile_id:
                session.delete(row)

    def find_existing(self, account: AccountCredentials, post: PublishRequest) -> PublishResult | None:
        profile_id = self._profile_id(account)
        keys = [post.part_key(i) for i in range(len(post.parts))]
        with self._session_factory() as session:
            rows = session.exec(
                select(SocialPost.idempotency_key, SocialPost.id).where(
                    SocialPost.idempotency_key.in_(keys), SocialPost.profile_id == profile_id
                )
            ).all()
            handle = session.exec(select(Profile.handle).where(Profile.id == profile_id)).first() or ""
        by_key = dict(rows)
        found: list[int] = []
        for key in keys:
            if key not in by_key:
                break
            found.append(by_key[key])
        if not found:
            return None
        return PublishResult(
            platform_post_id=str(found[0]),
            url=post_url(handle, found[0]),
            thread_post_ids=tuple(str(i) for i in found),
            already_existed=True,
            complete=len(found) == len(keys),
        )

    def _profile_id(self, account: AccountCredentials) -> int:
        try:
            return int(account.account_id or "")
        except ValueError:
            raise PlatformError("this SocialHub account has no profile; reconnect it", False, platform=self.name) from None


def post_url(handle: str, post_id: int) -> str:
    """Where a hub post is shown (relative to the app)."""
    return f"/hub/{handle}/{post_id}"


def _media_json(item: MediaItem) -> dict[str, Any]:
    return {
        "key": item.key,
        "content_type": item.content_type,
        "alt_text": item.alt_text,
        "width": item.width,
        "height": item.height,
    }


register_adapter(HubAdapter.name, HubAdapter)
