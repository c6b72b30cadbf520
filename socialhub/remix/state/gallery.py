"""The gallery (/remix): ads with sorts, search, filters, keyset pages, likes and the upload form.

Holds one page of cards at a time plus the cursor of the next (the list grows by "Show more",
at most `MAX_CARDS` cards). Every handler re-checks the user through `AppState._act`.
"""

from __future__ import annotations

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.identity import teams
from socialhub.remix import ads, brands, generate, reactions
from socialhub.remix.config import remix_settings
from socialhub.ui import clients
from socialhub.ui.state import AppState

MAX_CARDS = 240


def card_row(card: ads.AdCard) -> dict[str, str]:
    return {
        "id": str(card.id), "title": card.title, "brand": card.brand_name, "brand_id": str(card.brand_id),
        "kind": card.kind, "thumb": card.thumb_url, "tags": ", ".join(card.tags), "remixes": str(card.remix_count),
        "likes": str(card.like_count), "comments": str(card.comment_count), "trending": str(card.trending),
        "liked": "1" if card.liked else "", "href": f"/remix/ad?ad={card.id}",
    }


class RemixGalleryState(AppState):
    cards: list[dict[str, str]] = []
    next_cursor: str = ""
    sort: str = "newest"
    query: str = ""
    brand_filter: str = ""
    tag_filter: str = ""
    kind_filter: str = ""
    brand_options: list[list[str]] = []
    tag_options: list[str] = []
    has_brand: bool = False
    can_upload: bool = False
    upload_error: str = ""
    up_title: str = ""
    up_campaign: str = ""
    up_location: str = ""
    up_tags: str = ""
    loaded: bool = False

    @rx.event
    def set_upload_field(self, name: str, value: str):
        if name in ("title", "campaign", "location", "tags"):
            setattr(self, f"up_{name}", str(value)[:400])

    @rx.event
    def load(self):
        def action(session, user_id):
            self._fill(session, user_id)
        return self._act(action)

    def _fill(self, session, user_id: int, *, more: bool = False) -> None:
        brand = brands.brand_for_team(session, team_id=self._team_id) if self._team_id else None
        self.has_brand = brand is not None
        role = teams.get_role(session, team_id=self._team_id, user_id=user_id) if self._team_id else None
        self.can_upload = bool(brand and role and teams.role_at_least(role, "editor"))
        self.brand_options = [[str(b.id), b.name] for b in brands.list_brands(session)]
        self.tag_options = ads.all_tags(session)
        cards, cursor = ads.list_ads(
            session, viewer_id=user_id, sort=self.sort, query=self.query,
            brand_id=int(self.brand_filter) if self.brand_filter.isdigit() else None,
            tag=self.tag_filter, kind=self.kind_filter, cursor=self.next_cursor if more else "")
        rows = [card_row(c) for c in cards]
        self.cards = (self.cards + rows)[:MAX_CARDS] if more else rows
        self.next_cursor = cursor if len(self.cards) < MAX_CARDS else ""
        self.loaded = True

    def _reload(self):
        return self._act(lambda session, user_id: self._fill(session, user_id))

    @rx.event
    def set_sort(self, value: str):
        self.sort = value if value in ads.SORTS else "newest"
        return self._reload()

    @rx.event
    def search(self, form: dict):
        self.query = str(form.get("query", ""))[:200]
        self.brand_filter = str(form.get("brand", ""))[:20]
        self.tag_filter = str(form.get("tag", ""))[:40]
        kind = str(form.get("kind", ""))
        self.kind_filter = kind if kind in ads.KINDS else ""
        return self._reload()

    @rx.event
    def clear_filters(self):
        self.query = self.brand_filter = self.tag_filter = self.kind_filter = ""
        return self._reload()

    @rx.event
    def show_more(self):
        if not self.next_cursor:
            return None
        return self._act(lambda session, user_id: self._fill(session, user_id, more=True))

    @rx.event
    def toggle_like(self, ad_id: str):
        if not str(ad_id).isdigit():
            return None
        row = next((c for c in self.cards if c["id"] == str(ad_id)), None)
        liked = not (row and row["liked"])

        def action(session, user_id):
            return reactions.set_like(session, user_id=user_id, ad_id=int(ad_id), liked=liked)

        def done(count):
            self.cards = [{**c, "liked": "1" if liked else "", "likes": str(count)} if c["id"] == str(ad_id) else c
                          for c in self.cards]
        return self._act(action, done)

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        """The upload form: one file plus the title, campaign, location and tags typed above it."""
        if not files:
            self.upload_error = "Choose an image or a video to upload."
            return None
        settings = remix_settings()
        data = await files[0].read(settings.max_video_bytes + 1)
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()

        def action(session, user_id):
            return ads.upload_ad(session, team_id=self._team_id, actor_id=user_id, data=data,
                                 title=self.up_title, campaign=self.up_campaign, location=self.up_location,
                                 tags=self.up_tags)

        def done(ad):
            self.sort, self.next_cursor = "newest", ""
            self.up_title = self.up_campaign = self.up_location = self.up_tags = ""
            with session_scope() as session:
                self._fill(session, user.id)
            return [rx.clear_selected_files("remix-upload"), rx.toast.success(f"Uploaded “{ad.title}”.")]
        return self._act(action, done, error_field="upload_error")

    def _on_remix_event(self, data: dict) -> None:
        """Live counts: a remix finished for an ad on this page."""
        if not self.loaded or data.get("status") != "done" or not (self.router.url.path or "").startswith("/remix"):
            return
        ad_id = str(data.get("ad_id", ""))
        if any(c["id"] == ad_id for c in self.cards) and self._user_id:
            with session_scope() as session:
                self._fill(session, self._user_id)
clients.on_event(generate.EVENT, RemixGalleryState, "_on_remix_event")
