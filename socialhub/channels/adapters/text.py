"""Counting text the way each platform counts it, and finding links in text.

- Bluesky: grapheme clusters (what a person sees as one character; a family emoji is 1).
- X: twitter-text v3 weighted length: code points in the Latin/common ranges weigh 1, every
  other code point (CJK, most symbols) weighs 2, an emoji sequence weighs 2 as a whole, and
  every URL counts 23 no matter its length. Text is NFC-normalized first.
- Mastodon: grapheme clusters, where a URL (with its scheme) counts 23 and a remote mention
  `@user@server` counts only `@user`.

Grapheme clusters come from the `regex` package (`\\X`, the full Unicode rules); there is no
second implementation.

Cleaning what platforms send (`clean_text`, `clean_id`, `clean_url`, `clean_name`,
`clean_message`): any server can answer anything (a Mastodon instance is whoever runs it), so
every platform-sourced string an adapter puts into a result or an error goes through one of
these: NUL, the other C0 control characters except \\n and \\t, and lone surrogates are
removed, and the length is capped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import regex

MESSAGE_MAX = 1000  # error messages and warnings
ID_MAX = 255  # platform ids (posts, accounts, messages)
URL_MAX = 2000
NAME_MAX = 200  # handles and display names

X_URL_LENGTH = 23
MASTODON_URL_LENGTH = 23

# twitter-text v3 configuration: code points in these ranges weigh 100, all others 200; scale 100.
_X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_X_SCALE = 100
_X_DEFAULT_WEIGHT = 200

# Top-level domains recognised in links written without a scheme ("example.com"). Not the full
# IANA list: the common generic and country domains, which is what people actually write.
_TLDS = (
    "com|org|net|edu|gov|mil|int|info|biz|name|pro|io|co|ai|app|dev|me|tv|fm|ly|gg|so|sh|xyz|"
    "online|site|tech|store|blog|news|social|page|link|cloud|art|design|studio|shop|live|"
    "de|uk|fr|es|it|nl|be|ch|at|se|no|dk|fi|pl|pt|ie|cz|gr|ru|ua|eu|us|ca|mx|br|ar|cl|au|nz|"
    "jp|cn|kr|in|sg|hk|tw|za|ng|ke|tr|il|ae"
)

_SCHEME_URL = re.compile(r"https?://[^\s<>\"'\u3000]+", re.IGNORECASE)
_BARE_URL = re.compile(
    r"(?<![\w@/.\-])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:" + _TLDS + r")(?![\w\-])"
    r"(?::\d{1,5})?(?:/[^\s<>\"'\u3000]*)?",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?'\"”’»)]}"
# `@user@server.example` mentions (Mastodon counts only `@user`).
_REMOTE_MENTION = re.compile(r"(?<![\w/])@(\w+(?:[\w.\-]*\w)?)@[\w.\-]+\w")


@dataclass(frozen=True)
class UrlMatch:
    start: int
    end: int
    url: str
    """The URL as written; `href` adds https:// to bare domains."""

    @property
    def href(self) -> str:
        return self.url if "://" in self.url else f"https://{self.url}"


def find_urls(text: str, *, bare_domains: bool = False) -> list[UrlMatch]:
    """Links in `text`, left to right, with trailing punctuation left out.

    `bare_domains` also finds links written without a scheme ("example.com/page").
    """
    matches = [_trimmed(text, m.start(), m.end()) for m in _SCHEME_URL.finditer(text)]
    if bare_domains:
        taken = [(m.start, m.end) for m in matches]
        for m in _BARE_URL.finditer(text):
            if not any(start <= m.start() < end for start, end in taken):
                matches.append(_trimmed(text, m.start(), m.end()))
        matches.sort(key=lambda m: m.start)
    return [m for m in matches if m.end > m.start]


def _trimmed(text: str, start: int, end: int) -> UrlMatch:
    while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
        closing = text[end - 1]
        opening = {")": "(", "]": "[", "}": "{"}.get(closing)
        # keep a closing bracket that closes one inside the URL (Wikipedia-style links)
        if opening and text[start:end].count(opening) >= text[start:end].count(closing):
            break
        end -= 1
    return UrlMatch(start, end, text[start:end])


# ---------------------------------------------------------------------------------------------
# Grapheme clusters
# ---------------------------------------------------------------------------------------------


_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> list[str]:
    """`text` split into user-perceived characters (extended grapheme clusters)."""
    return _GRAPHEME.findall(text)


def count_graphemes(text: str) -> int:
    return len(graphemes(text))


# ---------------------------------------------------------------------------------------------
# Cleaning platform-sourced strings
# ---------------------------------------------------------------------------------------------

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff]")


def clean_text(value: object, limit: int) -> str:
    """The one cleaner: `value` as text without NUL, C0 controls (\\n and \\t stay) or lone
    surrogates, cut to at most `limit` characters (the cut marked with "…")."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > 2 * limit:
        text = text[: 2 * limit]  # never scan a megabyte to keep a thousand characters
    text = _UNSAFE.sub("", text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def clean_message(value: object) -> str:
    return clean_text(value, MESSAGE_MAX)


def clean_id(value: object) -> str | None:
    return None if value is None else clean_text(value, ID_MAX)


def clean_name(value: object) -> str | None:
    return None if value is None else clean_text(value, NAME_MAX)


def clean_url(value: object) -> str | None:
    """A cleaned http(s) URL or path on this site (`/…`, the hub's links), or None for anything
    else (`javascript:`, `data:`, `//other.host`: not a link to show or follow)."""
    if value is None:
        return None
    text = clean_text(value, URL_MAX + 1).strip()
    is_path = text.startswith("/") and not text.startswith("//")
    if len(text) > URL_MAX or not (is_path or text.lower().startswith(("https://", "http://"))):
        return None
    return text


# ---------------------------------------------------------------------------------------------
# Per-platform counters
# ---------------------------------------------------------------------------------------------


def count_bluesky(text: str) -> int:
    """Bluesky's limit is on graphemes (300 per post)."""
    return count_graphemes(text)


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def _is_emoji_cluster(cluster: str) -> bool:
    for char in cluster:
        cp = ord(char)
        if 0x1F000 <= cp <= 0x1FAFF or cp in (0xFE0F, 0x20E3) or cp == 0x200D:
            return True
    return False


def _x_weight(cluster: str) -> int:
    if _is_emoji_cluster(cluster):
        return _X_DEFAULT_WEIGHT
    weight = 0
    for char in cluster:
        cp = ord(char)
        light = any(start <= cp <= end for start, end in _X_LIGHT_RANGES)
        weight += _X_SCALE if light else _X_DEFAULT_WEIGHT
    return weight


def count_x(text: str) -> int:
    """X's weighted length (limit 280): twitter-text v3 rules, URLs count 23."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for url in find_urls(text, bare_domains=True):
        total += sum(_x_weight(c) for c in graphemes(text[position : url.start]))
        total += X_URL_LENGTH * _X_SCALE
        position = url.end
    total += sum(_x_weight(c) for c in graphemes(text[position:]))
    return total // _X_SCALE


def count_mastodon(text: str, *, url_length: int = MASTODON_URL_LENGTH) -> int:
    """Mastodon's length: graphemes, each URL counts `url_length`, `@a@b.c` counts as `@a`."""
    pieces: list[str] = []
    position = 0
    for url in find_urls(text):
        pieces.append(text[position : url.start])
        pieces.append("x" * url_length)
        position = url.end
    pieces.append(text[position:])
    countable = _REMOTE_MENTION.sub(lambda m: "@" + m.group(1), "".join(pieces))
    return count_graphemes(countable)
