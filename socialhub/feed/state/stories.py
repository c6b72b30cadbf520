"""The Feed page's state: filters, one page of stories at a time, and the actions on a story.

Holds only what the page shows: the loaded stories (30 per "Load more", keyset cursor kept
server-side), the filter values and the source list for the filter. Feed pictures are sent to
the browser only when the reader turned them on (`show_images`): they load from the
publisher's server, which would otherwise learn every reader's IP address. A story id that
comes from the browser is checked (`state.record_id`) before any service sees it. Every handler re-checks
the signed-in user and passes their id to the services (`stories`, `sources`), which scope
every query. Slow work (sharing with a remote AI) runs in background handlers, off the event
loop; "Open in the composer" saves the shared text as a draft with Schedule's `posts.create_post`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.core.errors import ServiceError
from socialhub.core.models import utcnow
from socialhub.feed import scoring, settings, sources, stories
from socialhub.feed.state import record_id
from socialhub.identity import teams
from socialhub.identity.models import User
from socialhub.schedule import posts
from socialhub.ui.state import AppState, local_time

MAX_FIELD = 1000

COMPOSER = "/schedule/compose"  # Schedule's composer: a shared story opens there as a draft post


@dataclasses.dataclass
class ScorePart:
    label: str = ""
    value: int = 0
    weight: str = ""


@dataclasses.dataclass
class StoryRow:
    id: int = 0
    title: str = ""
    url: str = ""
    excerpt: str = ""
    image_url: str = ""
    author: str = ""
    when: str = ""
    age: str = ""
    sources: str = ""
    read: bool = False
    bookmarked: bool = False
    rating: int = 0
    score: str = ""
    parts: list[ScorePart] = dataclasses.field(default_factory=list)
    reasons: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SourceOption:
    id: str = ""
    title: str = ""
    unread: int = 0
    total: int = 0


def _age(moment: datetime, now: datetime) -> str:
    seconds = max(0, (now - moment).total_seconds())
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def story_row(story: stories.StoryView, *, timezone: str, weights: settings.Weights, now: datetime,
              show_images: bool = False) -> StoryRow:
    parts, reasons, score = [], [], ""
    if story.score is not None:
        total = sum(weights.as_dict().values()) or 1
        for name in settings.WEIGHT_NAMES:
            parts.append(ScorePart(label=scoring.PART_LABELS[name], value=round(100 * getattr(story.score, name)),
                                   weight=f"{round(100 * getattr(weights, name) / total)}%"))
        reasons, score = list(story.score.reasons), f"{story.score.final:.0f}"
    return StoryRow(
        id=story.id, title=story.title or "(untitled)", url=story.url, excerpt=story.excerpt,
        image_url=story.image_url if show_images else "", author=story.author, when=local_time(story.published_at, timezone, "%d %b %Y %H:%M"),
        age=_age(story.published_at, now), sources=", ".join(s for s in story.sources if s),
        read=story.read, bookmarked=story.bookmarked, rating=story.rating or 0, score=score,
        parts=parts, reasons=reasons)


def _f(form: dict, key: str) -> str:
    return str(form.get(key, ""))[:MAX_FIELD]


NOT_A_STORY = "This story is not in your feed. Reload the page."


class FeedState(AppState):
    sort: str = "newest"
    source_filter: str = ""
    category_filter: str = ""
    topic_filter: str = ""
    unread_only: bool = False
    bookmarked_only: bool = False
    query: str = ""
    search_key: int = 0
    mark_on_scroll: bool = True
    show_images: bool = False

    stories: list[StoryRow] = []
    has_more: bool = False
    loaded: bool = False
    has_sources: bool = False
    total: int = 0
    unread_total: int = 0
    source_options: list[SourceOption] = []
    category_options: list[str] = []
    topic_options: list[str] = []
    error: str = ""

    share_open: bool = False
    share_text: str = ""
    share_label: str = ""
    share_note: str = ""
    share_draft: str = ""
    sharing: bool = False

    _cursor: str = ""

    # ---- loading ------------------------------------------------------------------------------

    def _filters(self) -> stories.StoryFilter:
        source_id = record_id(self.source_filter)
        return stories.StoryFilter(source_id=source_id, category=self.category_filter, topic=self.topic_filter,
                                   unread_only=self.unread_only, bookmarked_only=self.bookmarked_only,
                                   query=self.query, sort=self.sort if self.sort in stories.SORTS else "newest")

    def _load_page(self, user_id: int, *, more: bool = False) -> None:
        now = utcnow()
        try:
            with session_scope() as session:
                page = stories.list_stories(session, user_id=user_id, filters=self._filters(),
                                            cursor=self._cursor if more and self._cursor else None, now=now)
                prefs = settings.get_or_create(session, user_id=user_id)
                weights, self.show_images = settings.weights_of(prefs), prefs.show_images
        except ServiceError as exc:
            self.error = str(exc)
            return
        self.error = ""
        rows = [story_row(s, timezone=self._timezone, weights=weights, now=now, show_images=self.show_images)
                for s in page.stories]
        self.stories = (self.stories + rows) if more else rows
        self._cursor = page.next_cursor or ""
        self.has_more = page.next_cursor is not None
        self.loaded = True

    def _load_sidebar(self, user_id: int) -> None:
        with session_scope() as session:
            source_views = sources.list_sources(session, user_id=user_id)
            self.category_options = sources.categories(session, user_id=user_id)
            self.topic_options = list(settings.get_or_create(session, user_id=user_id).topics)
            self.total, self.unread_total = stories.counts(session, user_id=user_id)
        self.has_sources = bool(source_views)
        self.source_options = [SourceOption(id=str(s.id), title=s.title, unread=s.unread, total=s.total)
                               for s in source_views if s.enabled]

    @rx.event
    def load(self):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        self._load_sidebar(user.id)
        self._load_page(user.id)
        return rx.call_script(FEED_SCRIPT)

    def _reload(self):
        """A filter changed: the first page again, and fresh counts (the source list stays)."""
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        self._load_page(user.id)
        with session_scope() as session:
            self.total, self.unread_total = stories.counts(session, user_id=user.id)

    @rx.event
    def load_more(self):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        if self.has_more:
            self._load_page(user.id, more=True)

    # ---- filters ------------------------------------------------------------------------------

    @rx.event
    def set_sort(self, value: str):
        self.sort = value if value in stories.SORTS else "newest"
        return self._reload()

    @rx.event
    def set_source_filter(self, value: str):
        self.source_filter = str(value)[:20] if str(value).isdigit() else ""
        return self._reload()

    @rx.event
    def set_category_filter(self, value: str):
        self.category_filter = str(value)[:sources.MAX_CATEGORY]
        return self._reload()

    @rx.event
    def set_topic_filter(self, value: str):
        self.topic_filter = str(value)[:settings.MAX_TOPIC_CHARS]
        return self._reload()

    @rx.event
    def set_unread_only(self, value: bool):
        self.unread_only = bool(value)
        return self._reload()

    @rx.event
    def set_bookmarked_only(self, value: bool):
        self.bookmarked_only = bool(value)
        return self._reload()

    @rx.event
    def set_mark_on_scroll(self, value: bool):
        self.mark_on_scroll = bool(value)

    @rx.event
    def set_show_images(self, value: bool):
        """Show feeds' pictures (a saved choice); the stories are loaded again with or without them."""
        show = bool(value)
        result = self._act(lambda s, uid: settings.set_show_images(s, user_id=uid, show=show))
        if result is None:
            self.show_images = show
            return self._reload()
        return result

    @rx.event
    def search(self, form: dict):
        query = _f(form, "q").strip()
        if len(query) > stories.MAX_QUERY:
            self.error = f"Search for at most {stories.MAX_QUERY} characters."
            return
        self.query = query
        return self._reload()

    @rx.event
    def clear_filters(self):
        self.query, self.source_filter, self.category_filter, self.topic_filter = "", "", "", ""
        self.unread_only = self.bookmarked_only = False
        self.search_key += 1  # a new key empties the (uncontrolled) search box
        return self._reload()

    # ---- actions on one story -----------------------------------------------------------------

    def _update_row(self, story_id: int, **changes) -> None:
        self.stories = [dataclasses.replace(row, **changes) if row.id == story_id else row for row in self.stories]

    def _row(self, story_id) -> StoryRow | None:
        return next((row for row in self.stories if row.id == story_id), None)

    @rx.event
    def toggle_read(self, story_id: int):
        story_id = record_id(story_id)
        if story_id is None:
            return rx.toast.error(NOT_A_STORY)
        row = self._row(story_id)
        read = not (row.read if row else False)
        result = self._act(lambda s, uid: stories.mark_read(s, user_id=uid, story_ids=[story_id], read=read))
        if result is None:
            self._update_row(story_id, read=read)
            self.unread_total = max(0, self.unread_total + (-1 if read else 1))
        return result

    @rx.event
    def mark_seen(self, story_id: int):
        """Scrolled past: read, never unread."""
        story_id = record_id(story_id)
        if story_id is None:
            return rx.toast.error(NOT_A_STORY)
        row = self._row(story_id)
        if row is None or row.read or not self.mark_on_scroll:
            return
        result = self._act(lambda s, uid: stories.mark_read(s, user_id=uid, story_ids=[story_id]))
        if result is None:
            self._update_row(story_id, read=True)
            self.unread_total = max(0, self.unread_total - 1)
        return result

    @rx.event
    def toggle_bookmark(self, story_id: int):
        story_id = record_id(story_id)
        if story_id is None:
            return rx.toast.error(NOT_A_STORY)
        row = self._row(story_id)
        on = not (row.bookmarked if row else False)
        result = self._act(lambda s, uid: stories.set_bookmark(s, user_id=uid, story_id=story_id, bookmarked=on))
        if result is None:
            self._update_row(story_id, bookmarked=on)
            return rx.toast.success("Bookmarked." if on else "Bookmark removed.")
        return result

    @rx.event
    def rate(self, story_id: int, stars: int):
        story_id = record_id(story_id)
        if story_id is None:
            return rx.toast.error(NOT_A_STORY)
        try:
            stars = int(stars)
        except (TypeError, ValueError, OverflowError):
            return rx.toast.error("Rate a story from 1 to 5 stars.")
        row = self._row(story_id)
        value = None if row is not None and row.rating == stars else stars  # the same star again clears it
        result = self._act(lambda s, uid: stories.rate_story(s, user_id=uid, story_id=story_id, rating=value))
        if result is None:
            if row is not None and not row.read:
                self.unread_total = max(0, self.unread_total - 1)
            self._update_row(story_id, rating=value or 0, read=True)
            return rx.toast.success(f"Rated {value} of 5." if value else "Rating cleared.")
        return result

    @rx.event
    def open_story(self, story_id: int):
        """The link opens in a new tab by itself; this records the click (and marks it read)."""
        story_id = record_id(story_id)
        if story_id is None:
            return rx.toast.error(NOT_A_STORY)
        row = self._row(story_id)
        result = self._act(lambda s, uid: stories.open_story(s, user_id=uid, story_id=story_id))
        if result is None:
            if row is not None and not row.read:
                self.unread_total = max(0, self.unread_total - 1)
            self._update_row(story_id, read=True)
        return result

    @rx.event
    def mark_all_read(self):
        source_id = record_id(self.source_filter)
        result = self._act(lambda s, uid: stories.mark_all_read(s, user_id=uid, source_id=source_id),
                           "Marked as read.")
        self.stories = [dataclasses.replace(row, read=True) for row in self.stories]
        if self._user_id:
            self._load_sidebar(self._user_id)
        return result

    # ---- share ------------------------------------------------------------------------------

    @rx.event(background=True)
    async def share(self, story_id: int):
        story_id = record_id(story_id)
        async with self:
            user = self._signed_in_user()
            if user is not None and story_id is not None:
                self.sharing = True
        if user is None:
            yield self._to_signin()
            return
        if story_id is None:
            yield rx.toast.error(NOT_A_STORY)
            return
        user_id = user.id

        def prefill() -> stories.SharePrefill:
            with session_scope() as session:
                return stories.share_story(session, user_id=user_id, story_id=story_id)

        try:
            result = await asyncio.to_thread(prefill)
        except ServiceError as exc:
            async with self:
                self.sharing = False
            yield rx.toast.error(str(exc))
            return
        async with self:
            self.sharing = False
            self.share_text, self.share_label, self.share_note = result.text, result.provider_label, result.note
            self.share_draft = ""
            self.share_open = True

    @rx.event
    def save_share_draft(self, form: dict):
        """Open the composer with the (possibly edited) text: a new draft post of the active team."""
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        body = str(form.get("text", ""))[:10_000]
        if not body.strip():
            return rx.toast.error("Write something to share first.")
        try:
            with session_scope() as session:
                team_id = teams.active_team_id(session, user=session.get(User, user.id))
                post = posts.create_post(session, team_id=team_id, author_id=user.id, text=body)
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        self.share_draft, self.share_open = str(post.id), False
        return rx.redirect(f"{COMPOSER}?post={post.id}")

    @rx.event
    def close_share(self):
        self.share_open = False

    @rx.event
    def set_share_open(self, value: bool):
        self.share_open = bool(value)


# Keyboard shortcuts (j/k move, o open, b bookmark, m read/unread) and mark-read-on-scroll.
# Installed once per browser tab; it only acts on the story list of the Feed page, and never
# while the reader types in a field.
FEED_SCRIPT = r"""
(function () {
  if (window.__shFeed) return;
  window.__shFeed = true;
  var current = -1;
  function cards() { return Array.prototype.slice.call(document.querySelectorAll('[data-story]')); }
  function focusCard(i) {
    var list = cards(); if (!list.length) return;
    current = Math.max(0, Math.min(i, list.length - 1));
    list[current].focus(); list[current].scrollIntoView({block: 'nearest'});
  }
  function press(card, action) { var b = card && card.querySelector('[data-action="' + action + '"]'); if (b) b.click(); }
  document.addEventListener('keydown', function (e) {
    if (!document.getElementById('story-list')) return;
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
    var list = cards();
    var active = document.activeElement && document.activeElement.closest ? document.activeElement.closest('[data-story]') : null;
    if (active) current = list.indexOf(active);
    var card = list[current];
    if (e.key === 'j') { focusCard(current + 1); e.preventDefault(); }
    else if (e.key === 'k') { focusCard(current - 1); e.preventDefault(); }
    else if (e.key === 'o') { press(card, 'open'); }
    else if (e.key === 'b') { press(card, 'bookmark'); }
    else if (e.key === 'm') { press(card, 'read'); }
  });
  var watched = new WeakSet();
  var seen = {};
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      var el = entry.target, list = document.getElementById('story-list');
      if (entry.isIntersecting || entry.boundingClientRect.bottom > 0 || !list) return;
      if (list.getAttribute('data-mark-on-scroll') !== '1' || el.getAttribute('data-read') === '1') return;
      var id = el.getAttribute('data-story');
      if (seen[id]) return;
      seen[id] = true;
      press(el, 'seen');
    });
  });
  function watch() {
    cards().forEach(function (card) { if (!watched.has(card)) { watched.add(card); observer.observe(card); } });
  }
  new MutationObserver(watch).observe(document.body, {childList: true, subtree: true});
  watch();
})();
"""
