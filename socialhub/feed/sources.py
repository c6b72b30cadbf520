"""A reader's sources: following, importing, exporting, managing and refreshing them.

- Add by feed or website address (fetched once to check it, discover the feed behind a page
  and show its stories at once), OPML import (stored at once, fetched by the scheduler) and
  export, suggested sources, rename, categories, enable/disable, delete, refresh now.
- `list_sources` gives each source with how many stories it carries and how many are unread;
  `categories` the reader's category names.

Owns `FeedSource` rows on behalf of the reader (the fetch state is `refresh.py`'s) and the
address checks (`clean_feed_url`). Every function is scoped by `user_id`: a source id of
someone else is "not found". Reading the stories is `stories.py`.

Adding a source and refreshing now go over the network, so they take a `session_factory`
rather than a session: they check in one short transaction, fetch with none open, and store in
another. Both, and OPML imports, are rate-limited per reader (`core.ratelimit`). Fetching goes
through the egress client: an address on a private or local network is refused with one
message (`FeedRefused`), whatever the address or port.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from socialhub.core import ratelimit
from socialhub.core.db import session_scope
from socialhub.core.errors import NotFound, ValidationError
from socialhub.core.models import utcnow
from socialhub.feed import primary, refresh, settings, store
from socialhub.feed.ingest import (
    build_opml,
    FeedError,
    fetch_feed,
    OpmlError,
    OpmlOutline,
    parse_opml,
    SUGGESTED_SOURCES,
    SuggestedSource,
)
from socialhub.feed.ingest.discovery import DocumentKind, sniff
from socialhub.feed.models import FeedSource
from socialhub.feed.prepare import prepare_parsed

MAX_SOURCES = 2000
MAX_URL = 2000
MAX_CATEGORY = 100
MAX_TITLE = 300
MAX_OPML_UPLOAD = 2_000_000
ADD_TIMEOUT_S = 15.0

SessionFactory = Callable[[], AbstractContextManager[Session]]


# ---- views ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceView:
    id: int
    title: str
    url: str
    site_url: str
    category: str
    enabled: bool
    error_count: int
    last_error: str
    last_fetched_at: datetime | None
    next_fetch_at: datetime
    total: int
    unread: int


@dataclass(frozen=True)
class ImportReport:
    added: int
    already: int
    skipped: int

    def sentence(self) -> str:
        parts = [f"Added {self.added} source{'s' if self.added != 1 else ''}"]
        if self.already:
            parts.append(f"{self.already} you already follow")
        if self.skipped:
            parts.append(f"{self.skipped} skipped (not a web address)")
        return ", ".join(parts) + ". New sources are fetched within a minute."


# ---- input -------------------------------------------------------------------------------------

def clean_feed_url(raw: str) -> str:
    """A fetchable http(s) address: scheme added if missing, host punycoded, no spaces."""
    url = (raw or "").strip()
    if not url:
        raise ValidationError("Enter the address of a feed or a website.")
    if len(url) > MAX_URL:
        raise ValidationError(f"That address is too long (at most {MAX_URL} characters).")
    if any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in url):
        raise ValidationError("That address contains spaces or control characters.")
    lowered = url.lower()
    if lowered.startswith("feed://"):
        url = "http://" + url[7:]
    elif lowered.startswith("feed:"):
        url = url[5:]
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):(?!\d)", url)
    if scheme and scheme.group(1).lower() not in ("http", "https"):  # javascript:, file:, data: …
        raise ValidationError("Use a web address starting with http:// or https://.")
    if "://" not in url.split("?")[0]:
        url = "https://" + url.lstrip("/")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValidationError("That is not a web address.") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValidationError("Use a web address starting with http:// or https://.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError("The site name in that address is not valid.") from None
    netloc = host + (f":{port}" if port else "")
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]" + (f":{port}" if port else "")
    url = urlunsplit((parts.scheme.lower(), netloc, quote(parts.path, safe="/%:@!$&'()*+,;=~"),
                      quote(parts.query, safe="=&%:@!$'()*+,;/?~"), ""))
    if len(url) > MAX_URL:
        raise ValidationError(f"That address is too long (at most {MAX_URL} characters).")
    return url


def _clean_text(value: str, limit: int, label: str) -> str:
    value = " ".join((value or "").replace("\x00", "").split())
    if len(value) > limit:
        raise ValidationError(f"Use at most {limit} characters for the {label}.")
    return value


# ---- sources -------------------------------------------------------------------------------------

def _owned_source(session: Session, *, user_id: int, source_id: int) -> FeedSource:
    source = session.get(FeedSource, source_id)
    if source is None or source.user_id != user_id:
        raise NotFound("This source no longer exists.")
    return source


def _follows(session: Session, user_id: int, url: str) -> FeedSource | None:
    return session.exec(select(FeedSource).where(FeedSource.user_id == user_id, FeedSource.url == url)).first()


def _source_count(session: Session, user_id: int) -> int:
    return session.exec(select(func.count()).select_from(FeedSource).where(FeedSource.user_id == user_id)).one()


def _check_can_follow(session: Session, user_id: int, url: str) -> None:
    existing = _follows(session, user_id, url)
    if existing is not None:
        raise ValidationError(f"You already follow this feed ({existing.title}).")
    if _source_count(session, user_id) >= MAX_SOURCES:
        raise ValidationError(f"You follow {MAX_SOURCES} sources, the most one reader can. Remove some first.")


def add_source(*, user_id: int, url: str, category: str = "", title: str = "",
               session_factory: SessionFactory = session_scope) -> FeedSource:
    """Follow a feed, given its address or a website's: fetched now, so its stories show at once.

    Three steps, and no transaction open during the fetch: check (one short transaction), fetch
    and parse (none), store the source with its items (another).
    """
    url = clean_feed_url(url)
    category = _clean_text(category, MAX_CATEGORY, "category")
    title = _clean_text(title, MAX_TITLE, "name")
    with session_factory() as session:
        _check_can_follow(session, user_id, url)
    ratelimit.check("feed_add_source", user_id)
    try:
        result = fetch_feed(url, timeout=ADD_TIMEOUT_S)
    except FeedError as exc:
        raise ValidationError(str(exc)) from exc
    feed_url = result.next_url[:MAX_URL]
    now = utcnow()
    prepared = prepare_parsed(result.feed, feed_url=feed_url, now=now)
    with session_factory() as session:
        _check_can_follow(session, user_id, feed_url)  # (the page may have led to a feed already followed)
        if feed_url != url:
            _check_can_follow(session, user_id, url)
        source = FeedSource(
            user_id=user_id, url=feed_url, site_url=prepared.site_url, category=category,
            title=title or prepared.title or urlsplit(feed_url).hostname or feed_url,
            etag=(result.etag or None) and result.etag[:500],
            last_modified=(result.last_modified or None) and result.last_modified[:100],
            next_fetch_at=store.next_fetch_after_success(refresh.DEFAULT_INTERVAL_S, now),
            last_fetched_at=now, last_success_at=now,
            last_error=("Read with problems: " + "; ".join(prepared.warnings))[:1000] if prepared.warnings else "",
        )
        session.add(source)
        session.flush()
        store.ingest_items(
            session, [(store.SourceRef(source.id, user_id, feed_url), prepared.items)], now=now)
        settings.get_or_create(session, user_id=user_id)
    return source


def _insert_sources(session: Session, *, user_id: int, rows: list[dict]) -> int:
    """Store sources without fetching them (the scheduler fetches them within a minute)."""
    if not rows:
        return 0
    now = utcnow()
    table = FeedSource.__table__
    values = [{"user_id": user_id, "url": r["url"], "site_url": r.get("site_url", ""), "title": r["title"],
               "category": r.get("category", ""), "enabled": True, "fetch_interval_s": refresh.DEFAULT_INTERVAL_S,
               "next_fetch_at": now, "error_count": 0, "last_error": "", "created_at": now} for r in rows]
    statement = insert(table).on_conflict_do_nothing(index_elements=["user_id", "url"]).returning(table.c.id)
    added = 0
    for start in range(0, len(values), 1000):
        added += len(session.execute(statement, values[start:start + 1000]).all())
    settings.get_or_create(session, user_id=user_id)
    return added


def import_opml(session: Session, *, user_id: int, data: bytes) -> ImportReport:
    """Follow every feed of an OPML file (categories from its folders)."""
    if not data:
        raise ValidationError("This file is empty. Export your subscriptions as OPML and choose that file.")
    ratelimit.check("feed_add_source", user_id)
    if len(data) > MAX_OPML_UPLOAD:
        raise ValidationError("This file is larger than 2 MB; a subscription list in OPML is much smaller.")
    kind, description = sniff(data, None)
    if kind in (DocumentKind.BINARY, DocumentKind.JSON):
        raise ValidationError(f"This file is {description if kind is DocumentKind.BINARY else 'JSON'}, "
                              "not an OPML file.")
    try:
        outlines = parse_opml(data)
    except OpmlError as exc:
        raise ValidationError(str(exc)) from exc
    if not outlines:
        raise ValidationError("This OPML file lists no feeds.")
    rows, skipped = [], 0
    for outline in outlines:
        try:
            url = clean_feed_url(outline.xml_url)
        except ValidationError:
            skipped += 1
            continue
        rows.append({"url": url, "title": _clip(outline.title or url, MAX_TITLE),
                     "site_url": _clip(outline.html_url or "", MAX_URL),
                     "category": _clip(outline.category or "", MAX_CATEGORY)})
    room = MAX_SOURCES - _source_count(session, user_id)
    if len(rows) > room:
        raise ValidationError(f"This file lists {len(rows)} feeds; you can follow {room} more. "
                              "Remove some sources or split the file.")
    added = _insert_sources(session, user_id=user_id, rows=rows)
    return ImportReport(added=added, already=len(rows) - added, skipped=skipped)


def _clip(value: str, limit: int) -> str:
    return " ".join(value.replace("\x00", "").split())[:limit]


def export_opml(session: Session, *, user_id: int) -> bytes:
    sources = session.exec(select(FeedSource).where(FeedSource.user_id == user_id)
                           .order_by(FeedSource.category, FeedSource.title)).all()
    return build_opml([OpmlOutline(title=s.title, xml_url=s.url, html_url=s.site_url or None,
                                   category=s.category or None) for s in sources])


def suggestions(session: Session, *, user_id: int) -> list[SuggestedSource]:
    """Well-known sources the reader does not follow yet."""
    followed = set(session.exec(select(FeedSource.url).where(FeedSource.user_id == user_id)))
    return [s for s in SUGGESTED_SOURCES if s.feed_url not in followed]


def add_suggested(session: Session, *, user_id: int, feed_urls: list[str]) -> int:
    known = {s.feed_url: s for s in SUGGESTED_SOURCES}
    picked = [known[url] for url in feed_urls if url in known]
    if not picked:
        raise ValidationError("Choose one of the suggested sources.")
    return _insert_sources(session, user_id=user_id, rows=[
        {"url": s.feed_url, "title": s.name, "category": s.category} for s in picked])


def list_sources(session: Session, *, user_id: int) -> list[SourceView]:
    """The reader's sources with how many stories each carries and how many are unread."""
    rows = session.execute(text("""
        SELECT s.id, s.title, s.url, s.site_url, s.category, s.enabled, s.error_count, s.last_error,
               s.last_fetched_at, s.next_fetch_at, coalesce(c.total, 0), coalesce(c.unread, 0)
        FROM feed_sources s
        LEFT JOIN (
            SELECT e.source_id, count(*) AS total, count(*) FILTER (WHERE st.read_at IS NULL) AS unread
            FROM feed_item_sources e
            LEFT JOIN feed_item_states st ON st.user_id = e.user_id AND st.story_id = e.story_id
            WHERE e.user_id = :u AND NOT e.blocked
            GROUP BY e.source_id
        ) c ON c.source_id = s.id
        WHERE s.user_id = :u
        ORDER BY s.category, lower(s.title), s.id
    """), {"u": user_id}).all()
    return [SourceView(*row) for row in rows]


def categories(session: Session, *, user_id: int) -> list[str]:
    return sorted(set(session.exec(select(FeedSource.category).where(
        FeedSource.user_id == user_id, FeedSource.category != ""))))


def update_source(session: Session, *, user_id: int, source_id: int, title: str | None = None,
                  category: str | None = None, enabled: bool | None = None) -> FeedSource:
    source = _owned_source(session, user_id=user_id, source_id=source_id)
    if title is not None:
        title = _clean_text(title, MAX_TITLE, "name")
        if not title:
            raise ValidationError("Give the source a name.")
        source.title = title
    if category is not None:
        source.category = _clean_text(category, MAX_CATEGORY, "category")
    if enabled is not None:
        source.enabled = bool(enabled)
        if enabled and source.next_fetch_at > utcnow():
            source.next_fetch_at = utcnow()  # re-enabled: fetch it now rather than at the old time
    session.add(source)
    session.flush()
    if enabled is not None:
        primary.refresh_primary(session, user_id=user_id)
    return source


def delete_source(session: Session, *, user_id: int, source_id: int) -> None:
    """Stop following a source; its stories leave the feed unless another source carries them."""
    session.delete(_owned_source(session, user_id=user_id, source_id=source_id))
    session.flush()
    primary.refresh_primary(session, user_id=user_id)


def refresh_now(*, session_factory: SessionFactory = session_scope, user_id: int,
                source_ids: list[int] | None = None) -> refresh.RefreshReport:
    """Fetch the reader's sources (or these ones) right now instead of at their next time.

    No transaction is open while fetching: each feed is stored in its own short one as it
    comes in (`refresh.refresh_sources`)."""
    ratelimit.check("feed_refresh", user_id)
    with session_factory() as session:
        stmt = select(FeedSource.id).where(FeedSource.user_id == user_id, FeedSource.enabled)
        if source_ids is not None:
            stmt = stmt.where(FeedSource.id.in_(source_ids))
        ids = list(session.exec(stmt))
    if source_ids is not None and not ids:
        raise NotFound("This source no longer exists or is turned off.")
    report = refresh.RefreshReport()
    for start in range(0, len(ids), refresh.BATCH):
        report.add(refresh.refresh_sources(session_factory=session_factory, user_id=user_id,
                                                 source_ids=ids[start:start + refresh.BATCH]))
    return report
