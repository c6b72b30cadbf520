"""Turning a fetched feed body into rows ready to store: the CPU-bound half of a refresh.

Kept apart from the database code, and importing only the feed integration, so a refresh can
run it in worker processes (`parse_bodies`): parsing and fingerprinting a thousand feeds is
seconds of pure Python that a second core halves.

What a `PreparedItem` guarantees: its `url` is the normalised link ("" when the item has none),
`guid_key` the SHA-256 of the item's guid (what identifies it within its feed), `link_key` the
SHA-256 of the link (None without one: it only groups items of different feeds), `content_hash`
a hash of what the feed says about it (a changed item is rewritten), `content_html`
went through the sanitiser (and is cut to `HTML_LIMIT` then sanitised again so no tag is left
open), text fields hold no NUL (PostgreSQL refuses it) and fit their columns, and `published`
is never in the future.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta

from socialhub.feed.ingest import (
    excerpt,
    FeedError,
    FeedItem,
    html_to_text,
    normalize_url,
    parse_feed,
    ParsedFeed,
    sanitize_html,
    story_fingerprint,
)

log = logging.getLogger(__name__)

MAX_ITEMS_PER_FEED = 500
TEXT_LIMIT = 20_000
HTML_LIMIT = 200_000
URL_LIMIT = 4000
POOL_THRESHOLD = 16
"""Parse in worker processes only when a batch has at least this many bodies to parse."""


@dataclass(frozen=True, slots=True)
class PreparedItem:
    guid_key: str
    link_key: str | None
    url: str
    title: str
    author: str
    content_html: str
    text: str
    excerpt: str
    image_url: str
    tags: tuple[str, ...]
    published: datetime
    fingerprint: int
    content_hash: int


@dataclass(frozen=True, slots=True)
class PreparedFeed:
    title: str
    site_url: str
    warnings: tuple[str, ...]
    items: tuple[PreparedItem, ...]


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A body that could not be read as a feed (picklable, unlike some FeedError subclasses)."""

    message: str
    retryable: bool = False


def _clean(value: str | None, limit: int) -> str:
    return (value or "").replace("\x00", "")[:limit]


def sha256_key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def content_hash(*parts: str) -> int:
    """64 bits of BLAKE2b over the parts, as a signed integer (fits a BIGINT)."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return int.from_bytes(digest.digest(), "big", signed=True)


def prepare_item(item: FeedItem, *, feed_url: str, now: datetime) -> PreparedItem:
    link = normalize_url(item.url) if item.url else ""
    if len(link) > URL_LIMIT or not link.lower().startswith(("http://", "https://")):
        link = ""
    html = _clean(item.content_html or item.summary_html, HTML_LIMIT + 1)
    if len(html) > HTML_LIMIT:
        html = sanitize_html(html[:HTML_LIMIT])
    text = _clean(html_to_text(html), TEXT_LIMIT)
    title = _clean(item.title, 500) or excerpt(text, 120)
    published = item.published or now
    if published > now + timedelta(minutes=5):  # a feed dating its posts in the future
        published = now
    image = _clean(item.image_url, 2001)
    image = image if len(image) <= 2000 else ""
    author = _clean(item.author, 200)
    tags = tuple(_clean(tag, 80) for tag in item.tags if tag.replace("\x00", ""))
    guid = _clean(item.guid, 2000) or link or title  # (the parser always gives one)
    return PreparedItem(
        guid_key=sha256_key(guid),
        link_key=sha256_key(link) if link else None,
        url=link,
        title=title,
        author=author,
        content_html=html,
        text=text,
        excerpt=_clean(item.excerpt or excerpt(text), 400),
        image_url=image,
        tags=tags,
        published=published,
        fingerprint=story_fingerprint(title, text),
        content_hash=content_hash(link, title, author, html, image, "\x1e".join(tags)),
    )


def prepare_parsed(feed: ParsedFeed, *, feed_url: str, now: datetime) -> PreparedFeed:
    items = feed.items[:MAX_ITEMS_PER_FEED]
    return PreparedFeed(
        title=_clean(feed.title, 300),
        site_url=_clean(feed.site_url, 2000),
        warnings=tuple(_clean(w, 300) for w in feed.warnings),
        items=tuple(prepare_item(item, feed_url=feed_url, now=now) for item in items),
    )


def prepare_body(content: bytes, content_type: str | None, url: str, feed_url: str,
                 now: datetime) -> PreparedFeed | ParseFailure:
    """Parse and prepare one body; a feed error comes back as a `ParseFailure`, not raised."""
    try:
        feed = parse_feed(content, content_type=content_type, url=url, max_items=MAX_ITEMS_PER_FEED)
    except FeedError as exc:
        return ParseFailure(str(exc), exc.retryable)
    return prepare_parsed(feed, feed_url=feed_url, now=now)


def prepare_job(args: tuple[bytes, str | None, str, str, datetime]) -> PreparedFeed | ParseFailure:
    """`prepare_body` with its arguments in one tuple (what a worker process is sent)."""
    return prepare_body(*args)


def new_pool(workers: int | None = None) -> Executor:
    """Worker processes for `parse_bodies`, forked from a clean server process (never from a
    process with threads and open database connections)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["socialhub.feed.prepare"])
    return ProcessPoolExecutor(max_workers=workers or max(1, os.cpu_count() or 1), mp_context=context)


def parse_bodies(jobs: list[tuple[bytes, str | None, str, str, datetime]],
                 pool: Executor | None = None) -> list[PreparedFeed | ParseFailure]:
    """`prepare_body` for many bodies, in `pool` when given and the batch is big enough."""
    if pool is None or len(jobs) < POOL_THRESHOLD:
        return [prepare_job(job) for job in jobs]
    try:
        return list(pool.map(prepare_job, jobs, chunksize=max(1, len(jobs) // 32)))
    except BrokenProcessPool:  # workers could not start (an unusual main module): parse here
        log.warning("parsing processes failed; parsing %d feeds in this process", len(jobs))
        return [prepare_job(job) for job in jobs]
