"""Telling what a downloaded document is, and finding the feed behind a web page.

`sniff` looks at the first bytes (never trusting the Content-Type alone: many servers send
feeds as text/html or application/octet-stream) and says whether the body is an XML feed, a
JSON Feed, an HTML page or binary. `discover_feeds` reads an HTML page's
`<link rel="alternate" type="application/rss+xml" href="…">` tags, the way browsers and
every feed reader find a site's feed.
"""

from __future__ import annotations

import codecs
import re
from enum import Enum
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

# Link types that announce a feed, best first. Generic types come last: WordPress announces
# its REST API as `rel="alternate" type="application/json"` on every page.
FEED_LINK_TYPES: tuple[str, ...] = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
    "application/x-rss+xml",
    "application/x-atom+xml",
    "application/json",
    "text/xml",
    "application/xml",
)

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an Ogg file"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a program"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"wOFF", "a web font"),
    (b"wOF2", "a web font"),
)
_TEXT_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE,
              codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_SNIFF_BYTES = 4096
_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})
_FIRST_TAG = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")
# XML declaration, processing instructions, comments and a DOCTYPE (with an internal subset).
_SKIPPABLE = re.compile(
    rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!doctype[^>\[]*(?:\[.*?\])?\s*>)", re.S | re.I
)


class DocumentKind(Enum):
    XML_FEED = "xml"
    JSON = "json"
    HTML = "html"
    BINARY = "binary"
    UNKNOWN = "unknown"


def sniff(content: bytes, content_type: str | None = None) -> tuple[DocumentKind, str]:
    """What `content` is, with a short description for error messages ("a PNG image")."""
    head = content[:_SNIFF_BYTES]
    if not head.strip():
        return DocumentKind.UNKNOWN, "an empty document"
    for magic, description in _BINARY_MAGIC:
        if head.startswith(magic):
            return DocumentKind.BINARY, description
    text = _ascii_view(head)
    if text is None:
        return DocumentKind.BINARY, "binary data"

    stripped = text.lstrip()
    if stripped.startswith((b"{", b"[")):
        return DocumentKind.JSON, "a JSON document"

    position = 0
    while True:
        match = _SKIPPABLE.match(stripped, position)
        if not match or match.end() == position:
            break
        position = match.end()
    tag = _FIRST_TAG.match(stripped, position)
    if tag:
        name = tag.group(1).decode("ascii", "replace").lower()
        local = name.rsplit(":", 1)[-1]
        if local in _FEED_ROOTS:
            return DocumentKind.XML_FEED, "a feed"
        if local in ("html", "head", "body"):
            return DocumentKind.HTML, "a web page"
    lowered = stripped[:_SNIFF_BYTES].lower()
    if b"<html" in lowered or b"<!doctype html" in lowered:
        return DocumentKind.HTML, "a web page"
    mime = (content_type or "").split(";")[0].strip().lower()
    if "json" in mime:
        return DocumentKind.JSON, "a JSON document"
    if "html" in mime:
        return DocumentKind.HTML, "a web page"
    if tag or "xml" in mime:
        return DocumentKind.XML_FEED, "an XML document"
    if mime.startswith(("image/", "audio/", "video/", "font/")):
        return DocumentKind.BINARY, f"a file of type {mime}"
    return DocumentKind.UNKNOWN, "a plain text document"


def _ascii_view(head: bytes) -> bytes | None:
    """The head as ASCII-compatible bytes (UTF-16/32 re-encoded), or None when it is binary."""
    for bom in _TEXT_BOMS:
        if head.startswith(bom):
            encoding = {
                codecs.BOM_UTF8: "utf-8-sig",
                codecs.BOM_UTF16_LE: "utf-16-le",
                codecs.BOM_UTF16_BE: "utf-16-be",
                codecs.BOM_UTF32_LE: "utf-32-le",
                codecs.BOM_UTF32_BE: "utf-32-be",
            }[bom]
            body = head[len(bom):]
            return body.decode(encoding, "replace").encode("utf-8", "replace")
    # UTF-16 without a BOM still starts with "<\0?\0" or "\0<\0?".
    if head.startswith(b"<\x00") or head.startswith(b"\x00<"):
        encoding = "utf-16-le" if head.startswith(b"<\x00") else "utf-16-be"
        return head.decode(encoding, "replace").encode("utf-8", "replace")
    if b"\x00" in head:
        return None
    control = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    if control > len(head) // 20:
        return None
    return head


def discover_feeds(html: bytes | str, base_url: str) -> list[str]:
    """Absolute feed URLs announced by an HTML page's alternate links, in page order."""
    if isinstance(html, bytes):
        html = _decode_html(html)
    finder = _FeedLinkFinder()
    try:
        finder.feed(html)
        finder.close()
    except AssertionError:  # html.parser gives up on some malformed markup; keep what it found
        pass
    base = base_url
    if finder.base_href:
        try:
            base = urljoin(base_url, finder.base_href.strip())
        except ValueError:
            pass
    urls: list[str] = []
    ranked = sorted(finder.links, key=lambda link: FEED_LINK_TYPES.index(link[0]))
    for _kind, href in ranked:
        try:
            absolute = urljoin(base, href.strip())
            urlsplit(absolute)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            continue
        if absolute.lower().startswith("feed://"):
            absolute = "http://" + absolute[7:]
        if absolute.lower().startswith(("http://", "https://")) and absolute not in urls:
            urls.append(absolute)
    return urls


def _decode_html(content: bytes) -> str:
    head = content[:2048].decode("ascii", "replace")
    match = re.search(r"""<meta[^>]+charset=["']?([\w-]+)""", head, re.I)
    if match:
        try:
            return content.decode(match.group(1), "replace")
        except LookupError:
            pass
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("windows-1252", "replace")


class _FeedLinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (type, href) in page order
        self.base_href: str | None = None
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._done:
            return
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "base" and values.get("href") and self.base_href is None:
            self.base_href = values["href"]
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            kind = values.get("type", "").split(";")[0].strip().lower()
            if "alternate" in rels and kind in FEED_LINK_TYPES and values.get("href"):
                self.links.append((kind, values["href"]))
        elif tag == "body" and self.links:
            self._done = True  # feed links live in <head>; no need to read a long page

    handle_startendtag = handle_starttag
