"""The Digests page's state: past digests with their stories and deliveries, build now,
regenerate or retry, and the digest settings (time, size, minimum score, topics, weights,
automation switches, notifications).

Building calls AI providers, so it runs in a background handler and a worker thread; the
page shows "generating" meanwhile (other tabs see it on their next load).
"""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from socialhub.channels import accounts
from socialhub.core.db import session_scope
from socialhub.core.errors import ServiceError
from socialhub.feed import digests, settings
from socialhub.feed.state import record_id
from socialhub.identity import teams
from socialhub.identity.models import User
from socialhub.ui.state import AppState, local_time

MAX_FIELD = 2000
STATUS_LABELS = {"draft": "draft", "generating": "generating…", "generated": "generated", "delivered": "delivered",
                 "failed": "failed"}


@dataclasses.dataclass
class DigestStory:
    title: str = ""
    url: str = ""
    sources: str = ""
    score: str = ""
    summary: str = ""
    points: list[str] = dataclasses.field(default_factory=list)
    hashtags: str = ""
    clicks: int = 0


@dataclasses.dataclass
class DeliveryRow:
    channel: str = ""
    status: str = ""
    target: str = ""
    error: str = ""
    when: str = ""


@dataclasses.dataclass
class DigestRow:
    id: int = 0
    day: str = ""
    status: str = ""
    status_label: str = ""
    title: str = ""
    summary: str = ""
    provider_label: str = ""
    image_url: str = ""
    error: str = ""
    opens: int = 0
    clicks: int = 0
    stories: list[DigestStory] = dataclasses.field(default_factory=list)
    deliveries: list[DeliveryRow] = dataclasses.field(default_factory=list)


def _f(form: dict, key: str) -> str:
    return str(form.get(key, ""))[:MAX_FIELD]


def _on(form: dict, key: str) -> bool:
    return str(form.get(key, "")).lower() in ("on", "true", "1", "yes")


class DigestState(AppState):
    digests: list[DigestRow] = []
    loaded: bool = False
    building: bool = False
    build_error: str = ""
    settings_error: str = ""
    # settings, as the form shows them
    digest_time: str = "07:00"
    max_items: str = "8"
    min_score: str = "20"
    topics: str = ""
    weight_relevance: str = "0.4"
    weight_recency: str = "0.3"
    weight_reliability: str = "0.15"
    weight_engagement: str = "0.15"
    auto_generate: bool = True
    auto_email: bool = True
    auto_post: bool = False
    email_notifications: bool = True
    post_account: str = ""
    post_accounts: list[dict[str, str]] = []
    next_run: str = ""
    form_key: int = 0

    def _load(self, user_id: int) -> None:
        with session_scope() as session:
            views = digests.list_digests(session, user_id=user_id)
            prefs = settings.get_or_create(session, user_id=user_id)
            self.post_accounts = _post_accounts(session, user_id)
        self.digests = [_row(v, self._timezone) for v in views]
        self.digest_time, self.max_items, self.min_score = prefs.digest_time, str(prefs.max_items), f"{prefs.min_score:g}"
        self.topics = ", ".join(prefs.topics)
        self.weight_relevance, self.weight_recency = f"{prefs.weight_relevance:g}", f"{prefs.weight_recency:g}"
        self.weight_reliability, self.weight_engagement = (f"{prefs.weight_reliability:g}",
                                                           f"{prefs.weight_engagement:g}")
        self.auto_generate, self.auto_email, self.auto_post = prefs.auto_generate, prefs.auto_email, prefs.auto_post
        self.email_notifications = prefs.email_notifications
        self.post_account = str(prefs.post_account_id or "")
        self.next_run = (local_time(prefs.next_digest_at, self._timezone, "%a %d %b, %H:%M") + " (" + self._timezone + ")"
                         if prefs.next_digest_at and prefs.auto_generate else "")
        self.building = any(d.status == "generating" for d in views)
        self.loaded = True
        self.form_key += 1

    @rx.event
    def load(self):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        self._load(user.id)

    # ---- building ----------------------------------------------------------------------------

    @rx.event(background=True)
    async def build_now(self, digest_id: int = 0):
        """Build today's digest now (or rebuild digest `digest_id`: regenerate / retry)."""
        one = record_id(digest_id)
        async with self:
            user = self._signed_in_user()
            if user is not None:
                self.building, self.build_error = True, ""
                if digest_id not in (0, "0", "", None) and one is None:
                    self.building, self.build_error = False, "This digest no longer exists."
        if user is None:
            yield self._to_signin()
            return
        if digest_id not in (0, "0", "", None) and one is None:
            yield rx.toast.error("This digest no longer exists.")
            return
        try:
            if one:
                built = await asyncio.to_thread(digests.regenerate, user_id=user.id, digest_id=one)
            else:
                built = await asyncio.to_thread(digests.build_digest, user_id=user.id, force=True)
        except ServiceError as exc:
            async with self:
                self.building, self.build_error = False, str(exc)
            return
        async with self:
            self._load(user.id)
            self.building = False
            row = next((d for d in self.digests if d.id == built), None)
        if row is not None and row.status == "failed":
            yield rx.toast.error("The digest could not be built: " + row.error)
        elif row is not None:
            yield rx.toast.success("Digest " + row.status_label + ".")

    # ---- settings -----------------------------------------------------------------------------

    @rx.event
    def save_settings(self, form: dict):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        account = _f(form, "post_account")
        try:
            with session_scope() as session:
                settings.update_settings(
                    session, user_id=user.id, digest_time=_f(form, "digest_time"), max_items=_f(form, "max_items"),
                    min_score=_f(form, "min_score"), topics=_f(form, "topics"),
                    weights={name: _f(form, f"weight_{name}") for name in settings.WEIGHT_NAMES},
                    auto_generate=_on(form, "auto_generate"), auto_email=_on(form, "auto_email"),
                    auto_post=_on(form, "auto_post"), email_notifications=_on(form, "email_notifications"),
                    post_account_id=int(account) if account.isdigit() and any(
                        a["id"] == account for a in self.post_accounts) else None,
                )
        except ServiceError as exc:
            self.settings_error = str(exc)
            return
        self.settings_error = ""
        self._load(user.id)
        return rx.toast.success("Digest settings saved. Today's scores are recomputed with them.")


def _post_accounts(session, user_id: int) -> list[dict[str, str]]:
    """The connected accounts of the reader's active team a digest can be posted to."""
    try:
        team_id = teams.active_team_id(session, user=session.get(User, user_id))
        connected = accounts.list_accounts(session, team_id=team_id, user_id=user_id)
    except ServiceError:
        return []
    return [{"id": str(a.id), "label": f"{a.platform_name}: {a.display_name}"} for a in connected]


def _row(view: digests.DigestView, timezone: str) -> DigestRow:
    return DigestRow(
        id=view.id, day=view.day.strftime("%A %d %B %Y"), status=view.status,
        status_label=STATUS_LABELS.get(view.status, view.status), title=view.title or "(not built yet)",
        summary=view.summary, provider_label=view.provider_label, image_url=view.image_url, error=view.error,
        opens=view.open_count, clicks=view.click_count,
        stories=[DigestStory(title=i.title, url=i.url, sources=i.source_names, score=f"{i.score:.0f}",
                             summary=i.summary, points=i.key_points, hashtags=" ".join(i.hashtags),
                             clicks=i.click_count) for i in view.items],
        deliveries=[DeliveryRow(channel="E-mail" if d.channel == "email" else "Post", status=d.status,
                                target=d.target, error=d.error, when=local_time(d.created_at, timezone))
                    for d in view.deliveries],
    )
