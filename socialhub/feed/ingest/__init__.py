"""Feed integration: fetch, parse, discover, normalise and de-duplicate RSS, Atom and JSON Feed.

Pure integration code (httpx, feedparser, nh3): no models, no Reflex. Feed's services (`refresh`,
`sources`) store what these functions return; the scheduler calls them.

- `fetch_feed` / `fetch_feed_async` / `fetch_many` (fetch.py): conditional GET, manual redirects
  with permanent ones reported, size and time limits, feed discovery on HTML pages, per-host
  concurrency limits.
- `parse_feed` (parse.py): RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.0/1.1 → `ParsedFeed` of `FeedItem`
  with sanitised HTML (sanitize.py), absolute URLs and aware UTC datetimes.
- `discover_feeds` (discovery.py): `<link rel="alternate">` feed links of a web page.
- `normalize_url` (urls.py): one spelling per link, tracking parameters removed.
- `story_fingerprint` / `is_near_duplicate` / `story_similarity` (dedupe.py): SimHash grouping of
  the same story told by different sources.
- `parse_opml` / `build_opml` (opml.py): subscriptions in and out, entity attacks refused.
- `SUGGESTED_SOURCES` (sources.py): public feeds offered on first use.

Every error raised is a `FeedError` (errors.py) with a message fit to show on the source.
"""

from .dedupe import (
    NEAR_DUPLICATE_BITS,
    SAME_STORY_SIMILARITY,
    hamming_distance,
    is_near_duplicate,
    story_fingerprint,
    story_similarity,
)
from .discovery import discover_feeds
from .errors import (
    FeedConnectionError,
    FeedError,
    FeedHTTPError,
    FeedParseError,
    FeedRefused,
    FeedTimeout,
    FeedTooLarge,
    FeedTooManyRedirects,
    NotAFeed,
    OpmlError,
)
from .fetch import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    MAX_REDIRECTS,
    FetchRequest,
    FetchResult,
    HostLimiter,
    Redirect,
    fetch_feed,
    fetch_feed_async,
    fetch_many,
)
from .opml import OpmlOutline, build_opml, parse_opml
from .parse import FeedItem, ParsedFeed, parse_feed
from .sanitize import excerpt, html_to_text, sanitize_html
from .sources import SUGGESTED_SOURCES, SuggestedSource
from .urls import normalize_url

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "MAX_REDIRECTS",
    "NEAR_DUPLICATE_BITS",
    "SAME_STORY_SIMILARITY",
    "SUGGESTED_SOURCES",
    "FeedConnectionError",
    "FeedError",
    "FeedHTTPError",
    "FeedItem",
    "FeedParseError",
    "FeedRefused",
    "FeedTimeout",
    "FeedTooLarge",
    "FeedTooManyRedirects",
    "FetchRequest",
    "FetchResult",
    "HostLimiter",
    "NotAFeed",
    "OpmlError",
    "OpmlOutline",
    "ParsedFeed",
    "Redirect",
    "SuggestedSource",
    "build_opml",
    "discover_feeds",
    "excerpt",
    "fetch_feed",
    "fetch_feed_async",
    "fetch_many",
    "hamming_distance",
    "html_to_text",
    "is_near_duplicate",
    "normalize_url",
    "parse_feed",
    "parse_opml",
    "sanitize_html",
    "story_fingerprint",
    "story_similarity",
]
