"""Feed documents turned into plain, safe data: `parse_feed(bytes) -> ParsedFeed`.

Formats: RSS 0.90–0.94, RSS 1.0 (RDF), RSS 2.0, Atom 0.3/1.0 through feedparser, and JSON Feed
1.0/1.1 parsed here (feedparser does not read JSON Feed).

Invariants of what comes out, whatever came in:
- item HTML (`summary_html`, `content_html`) went through `sanitize_html` with relative URLs made
  absolute; titles, authors and excerpts are plain text;
- `url` and `image_url` are absolute http(s) URLs or None;
- datetimes are aware UTC;
- every item has a non-empty `guid` that stays the same when the feed is fetched again.

Broken documents: feedparser falls back to a forgiving parser when the XML is not well-formed
and re-decodes text whose declared encoding is wrong; when items could be recovered they are
returned and `ParsedFeed.warnings` says what was wrong. A document that yields nothing is a
`FeedParseError`; something that is not a feed at all (HTML, binary, other JSON) is `NotAFeed`.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from .discovery import DocumentKind, sniff
from .errors import FeedParseError, NotAFeed
from .sanitize import excerpt, html_to_text, sanitize_html, text_to_html

try:  # feedparser's date parser understands the many date spellings found in the wild
    from feedparser.datetimes import _parse_date as _feedparser_date
except ImportError:  # pragma: no cover - layout of other feedparser versions
    _feedparser_date = None

MAX_TAGS = 20
MAX_TAG_CHARS = 80
JSON_FEED_PREFIX = "https://jsonfeed.org/version/"
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")
_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc="([^"]+)\"""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a feed, ready to store."""

    guid: str
    url: str | None
    title: str
    author: str | None = None
    summary_html: str = ""
    content_html: str = ""
    excerpt: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    tags: tuple[str, ...] = ()
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed's own details and its items, in document order (usually newest first)."""

    format: str
    title: str
    site_url: str | None = None
    feed_url: str | None = None
    description: str = ""
    language: str | None = None
    icon_url: str | None = None
    items: tuple[FeedItem, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def recovered(self) -> bool:
        """True when the document had problems but items could still be read."""
        return bool(self.warnings)


def parse_feed(
    content: bytes,
    *,
    content_type: str | None = None,
    url: str | None = None,
    max_items: int | None = None,
) -> ParsedFeed:
    """Parse a feed document; `url` is where it came from (the base for relative links)."""
    where = url or "This document"
    kind, description = sniff(content, content_type)
    if kind is DocumentKind.JSON:
        return _parse_json_feed(content, content_type=content_type, url=url, max_items=max_items)
    if kind is DocumentKind.BINARY:
        raise NotAFeed(f"{where} is {description}, not a feed.", url=url)
    if kind is DocumentKind.HTML:
        raise NotAFeed(f"{where} is a web page, not a feed.", url=url)
    if kind is DocumentKind.UNKNOWN:
        raise NotAFeed(f"{where} is {description}, not a feed.", url=url)
    return _parse_xml_feed(content, content_type=content_type, url=url, max_items=max_items)


# --- RSS / Atom (feedparser) -----------------------------------------------------------------


def _parse_xml_feed(
    content: bytes, *, content_type: str | None, url: str | None, max_items: int | None
) -> ParsedFeed:
    # Only the charset of the Content-Type matters to feedparser's decoding; "text/xml" without
    # one would make it assume US-ASCII (RFC 3023) over the document's own declaration.
    charset = _charset(content_type)
    repaired = _repair_utf8(content) if _declares_utf8(content, charset) else None
    if repaired is not None:
        content = repaired
    headers = {"content-type": f"application/xml; charset={charset}" if charset
               else "application/xml"}
    # A stream, never bytes or str: feedparser would treat a str as a URL or file name to open.
    # No base URL is given to feedparser, so ids stay as written (it would resolve them like
    # links); relative links are resolved here. Its own sanitiser and URL rewriting are off:
    # nh3 does both, faster and with our allow-list.
    parsed = feedparser.parse(
        io.BytesIO(content),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    where = url or "This document"
    feed = parsed.get("feed", {})
    entries = parsed.get("entries", [])
    warnings = _bozo_warnings(parsed)
    if repaired is not None:
        warnings.insert(0, REPLACED_BYTES)
    if not entries and not feed.get("title"):
        if parsed.get("bozo"):
            raise FeedParseError(
                f"{where} is not a readable feed: {warnings[0] if warnings else 'broken XML'}.",
                url=url,
            )
        if not parsed.get("version"):
            raise NotAFeed(f"{where} is an XML document but not an RSS or Atom feed.", url=url)

    base = url or _str(feed.get("link")) or None
    site_url = _http_url(feed.get("link"), base)
    feed_author = _person(feed.get("author_detail")) or _author_name(feed.get("author"))
    if max_items is not None:
        entries = entries[:max_items]
    items = tuple(_xml_item(entry, base=base, feed_author=feed_author) for entry in entries)
    self_link = next(
        (link.get("href") for link in feed.get("links", []) if link.get("rel") == "self"), None
    )
    icon = (feed.get("image") or {}).get("href") or feed.get("icon") or feed.get("logo")
    return ParsedFeed(
        format=parsed.get("version") or "unknown",
        title=_plain_title(feed.get("title_detail"), feed.get("title")),
        site_url=site_url,
        feed_url=_http_url(self_link, base),
        description=_plain_title(feed.get("subtitle_detail"), feed.get("subtitle")),
        language=_str(feed.get("language")) or None,
        icon_url=_http_url(icon, base),
        items=items,
        warnings=tuple(warnings),
    )


def _bozo_warnings(parsed: Mapping[str, Any]) -> list[str]:
    if not parsed.get("bozo"):
        return []
    exc = parsed.get("bozo_exception")
    name = type(exc).__name__
    if name == "NonXMLContentType":  # a feed served as text/plain or text/html: harmless
        return []
    if name == "CharacterEncodingOverride":
        return [f"the declared text encoding was wrong; read as {parsed.get('encoding')}"]
    if name == "CharacterEncodingUnknown":
        return ["the text encoding could not be determined"]
    return [f"the XML is not well-formed ({exc})" if exc else "the XML is not well-formed"]


def _xml_item(entry: Mapping[str, Any], *, base: str | None, feed_author: str | None) -> FeedItem:
    link = entry.get("feedburner_origlink") or entry.get("link")
    if not link:
        link = next(
            (l.get("href") for l in entry.get("links", []) if l.get("rel") == "alternate"), None
        )
    item_url = _http_url(link, base)
    if item_url is None and entry.get("guidislink") and entry.get("id"):
        item_url = _http_url(entry.get("id"), base)
    html_base = base or item_url

    content_html = ""
    for content in entry.get("content") or []:
        content_html = _detail_html(content, html_base)
        if content_html:
            break
    summary_html = _detail_html(
        entry.get("summary_detail") or {"value": entry.get("summary", ""), "type": "text/html"},
        html_base,
    )
    if not content_html:
        content_html = summary_html
    if not summary_html:
        summary_html = content_html

    title = _plain_title(entry.get("title_detail"), entry.get("title"))
    published = _struct_time(entry.get("published_parsed")) or _struct_time(
        entry.get("updated_parsed")
    ) or _struct_time(entry.get("created_parsed"))
    updated = _struct_time(entry.get("updated_parsed"))
    author = _person(entry.get("author_detail")) or _author_name(entry.get("author")) or feed_author
    tags = _tags(t.get("label") or t.get("term") for t in entry.get("tags") or [])
    image = _entry_image(entry, html_base) or _first_img(content_html)
    text = html_to_text(summary_html)
    return FeedItem(
        guid=_guid(entry.get("id"), item_url, title, published, text),
        url=item_url,
        title=title or excerpt(text, 120),
        author=author,
        summary_html=summary_html,
        content_html=content_html,
        excerpt=excerpt(text),
        published=published,
        updated=updated,
        tags=tags,
        image_url=image,
    )


def _detail_html(detail: Mapping[str, Any] | None, base: str | None) -> str:
    if not detail:
        return ""
    value = _str(detail.get("value"))
    if not value.strip():
        return ""
    # feedparser reports the xml:base in force, itself possibly relative to the document.
    detail_base = _str(detail.get("base")).strip()
    if detail_base:
        joined = _http_url(detail_base, base)
        if joined:
            base = joined
    if detail.get("type") == "text/plain":
        return text_to_html(value)
    return sanitize_html(value, base_url=base)


def _plain_title(detail: Mapping[str, Any] | None, value: Any) -> str:
    text = _str(value)
    if detail and detail.get("type") in ("text/html", "application/xhtml+xml") and "<" in text:
        return html_to_text(text)
    return " ".join(text.split())


def _entry_image(entry: Mapping[str, Any], base: str | None) -> str | None:
    for media in entry.get("media_content") or []:
        kind = (media.get("medium") or media.get("type") or "").lower()
        media_url = media.get("url") or ""
        if kind.startswith("image") or (not kind and media_url.lower().endswith(_IMAGE_EXTENSIONS)):
            found = _http_url(media_url, base)
            if found:
                return found
    for thumbnail in entry.get("media_thumbnail") or []:
        found = _http_url(thumbnail.get("url"), base)
        if found:
            return found
    for enclosure in entry.get("enclosures") or []:
        if (enclosure.get("type") or "").lower().startswith("image/"):
            found = _http_url(enclosure.get("href") or enclosure.get("url"), base)
            if found:
                return found
    image = entry.get("image")
    if isinstance(image, Mapping):
        return _http_url(image.get("href"), base)
    return None


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _person(detail: Any) -> str | None:
    if isinstance(detail, Mapping):
        return _author_name(detail.get("name"))
    return None


def _author_name(value: Any) -> str | None:
    """A display name, or None for nothing or a bare e-mail address (RSS managingEditor)."""
    name = " ".join(_str(value).split())
    if not name or ("@" in name and " " not in name):
        return None
    return name


# --- JSON Feed -------------------------------------------------------------------------------


def _parse_json_feed(
    content: bytes, *, content_type: str | None, url: str | None, max_items: int | None
) -> ParsedFeed:
    where = url or "This document"
    text, warnings = _decode_json(content, content_type)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FeedParseError(f"{where} is not valid JSON ({exc}).", url=url) from exc
    version = data.get("version") if isinstance(data, dict) else None
    label = _json_feed_version(version)
    if label is None:
        raise NotAFeed(f"{where} is JSON but not a JSON Feed.", url=url)
    raw_items = data.get("items")
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        raise FeedParseError(f"{where} is a JSON Feed whose items are not a list.", url=url)

    base = url or _str(data.get("home_page_url")) or None
    feed_author = _json_author(data)
    if max_items is not None:
        raw_items = raw_items[:max_items]
    items = []
    for raw in raw_items:
        if isinstance(raw, dict):
            items.append(_json_item(raw, base=base, feed_author=feed_author))
        else:
            warnings.append("an item that is not an object was skipped")
    return ParsedFeed(
        format={"1": "json10", "1.0": "json10", "1.1": "json11"}.get(label, "json"),
        title=" ".join(_str(data.get("title")).split()),
        site_url=_http_url(data.get("home_page_url"), base),
        feed_url=_http_url(data.get("feed_url"), base),
        description=_str(data.get("description")),
        language=_str(data.get("language")) or None,
        icon_url=_http_url(data.get("icon") or data.get("favicon"), base),
        items=tuple(items),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _decode_json(content: bytes, content_type: str | None) -> tuple[str, list[str]]:
    try:
        return content.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    declared = _charset(content_type)
    if declared is None or _is_utf8_name(declared):
        repaired = _repair_utf8(content)
        if repaired is not None:
            return repaired.decode("utf-8-sig"), [REPLACED_BYTES]
    for encoding in (declared, "windows-1252"):
        if not encoding:
            continue
        try:
            text = content.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
        return text, [f"the JSON was not UTF-8; read as {encoding}"]
    return content.decode("utf-8", "replace"), ["the JSON was not UTF-8; bad bytes replaced"]


def _json_item(raw: Mapping[str, Any], *, base: str | None, feed_author: str | None) -> FeedItem:
    item_url = _http_url(raw.get("url"), base) or _http_url(raw.get("external_url"), base)
    html_base = item_url or base
    if _str(raw.get("content_html")).strip():
        content_html = sanitize_html(_str(raw["content_html"]), base_url=html_base)
    else:
        content_html = text_to_html(_str(raw.get("content_text")))
    summary_text = " ".join(_str(raw.get("summary")).split())
    summary_html = text_to_html(summary_text) if summary_text else content_html
    published = _json_date(raw.get("date_published")) or _json_date(raw.get("date_modified"))
    title = " ".join(_str(raw.get("title")).split())
    text = summary_text or html_to_text(content_html)
    image = (
        _http_url(raw.get("image"), html_base)
        or _http_url(raw.get("banner_image"), html_base)
        or next(
            (
                _http_url(attachment.get("url"), html_base)
                for attachment in raw.get("attachments") or []
                if isinstance(attachment, dict)
                and _str(attachment.get("mime_type")).lower().startswith("image/")
            ),
            None,
        )
        or _first_img(content_html)
    )
    tags = raw.get("tags") if isinstance(raw.get("tags"), list) else []
    return FeedItem(
        guid=_guid(_str(raw.get("id")), item_url, title, published, text),
        url=item_url,
        title=title or excerpt(text, 120),
        author=_json_author(raw) or feed_author,
        summary_html=summary_html,
        content_html=content_html,
        excerpt=excerpt(text),
        published=published,
        updated=_json_date(raw.get("date_modified")),
        tags=_tags(tags),
        image_url=image,
    )


def _json_author(obj: Mapping[str, Any]) -> str | None:
    """JSON Feed 1.1 `authors: [{name}]`, or 1.0 `author: {name}`."""
    authors = obj.get("authors")
    if isinstance(authors, list):
        names = [
            _str(a.get("name")).strip() for a in authors if isinstance(a, dict) and a.get("name")
        ]
        if names:
            return ", ".join(names)
    author = obj.get("author")
    if isinstance(author, dict) and author.get("name"):
        return _str(author["name"]).strip() or None
    return None


def _json_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        parsed = None
    if parsed is not None:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    if _feedparser_date is not None:
        return _struct_time(_feedparser_date(value.strip()))
    return None


# --- shared helpers --------------------------------------------------------------------------


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _json_feed_version(version: Any) -> str | None:
    """"1", "1.1"… from `https://jsonfeed.org/version/1.1` or from a bare "1.1" (which several
    publishers write), or None when this is not a JSON Feed's version."""
    if not isinstance(version, str):
        return None
    version = version.strip()
    for prefix in (JSON_FEED_PREFIX, "http://jsonfeed.org/version/"):
        if version.startswith(prefix):
            return version[len(prefix):].strip("/")
    return version if re.fullmatch(r"1(?:\.\d+)?", version) else None


REPLACED_BYTES = "some bytes were not valid UTF-8; they were replaced"
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["']""")


def _is_utf8_name(name: str) -> bool:
    return name.strip().lower().replace("_", "-") in ("utf-8", "utf8")


def _declares_utf8(content: bytes, charset: str | None) -> bool:
    """Is this XML document UTF-8 by its Content-Type, its XML declaration, or by default?"""
    if charset:
        return _is_utf8_name(charset)
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) or content[:2] in (b"<\x00", b"\x00<"):
        return False  # UTF-16/32
    match = _XML_ENCODING.match(content[:300])
    return match is None or _is_utf8_name(match.group(1).decode("ascii"))


def _repair_utf8(content: bytes) -> bytes | None:
    """UTF-8 with a few broken bytes: the same text with U+FFFD for each broken sequence.

    None when the bytes are valid UTF-8 (nothing to repair) or hold no valid non-ASCII UTF-8
    sequence at all: then they are really in a one-byte encoding (a whole windows-1252
    document declared as UTF-8), and reading them so loses nothing.
    """
    try:
        content.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    text = content.decode("utf-8", "replace")
    if not any(ord(c) > 0x7F and c != "\ufffd" for c in text):
        return None
    return text.encode("utf-8")


def _charset(content_type: str | None) -> str | None:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def _http_url(value: Any, base: str | None) -> str | None:
    """`value` made absolute against `base`, if it is then an http(s) URL."""
    text = _str(value).strip()
    if not text:
        return None
    try:
        absolute = urljoin(base, text) if base else text
        urlsplit(absolute)  # refuses e.g. an unclosed IPv6 bracket
    except ValueError:
        return None
    return absolute if absolute.lower().startswith(("http://", "https://")) else None


def _first_img(html: str) -> str | None:
    match = _IMG_SRC.search(html)
    if match and match.group(1).lower().startswith(("http://", "https://")):
        return match.group(1).replace("&amp;", "&")
    return None


def _tags(values: Iterable[Any]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        tag = " ".join(_str(value).split())[:MAX_TAG_CHARS]
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
        if len(seen) >= MAX_TAGS:
            break
    return tuple(seen.values())


def _guid(
    declared: Any, url: str | None, title: str, published: datetime | None, text: str
) -> str:
    """The item's id: declared id, else its link, else a hash of what it says."""
    guid = _str(declared).strip()
    if guid:
        return guid
    if url:
        return url
    basis = "\x1f".join((title, published.isoformat() if published else "", text[:500]))
    return "sha1:" + hashlib.sha1(basis.encode("utf-8")).hexdigest()
