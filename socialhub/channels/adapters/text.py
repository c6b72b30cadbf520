"""Counting text the way each platform counts it, and finding links in text.

- Bluesky: grapheme clusters (what a person sees as one character; a family emoji is 1).
- X: twitter-text v3 weighted length: code points in the Latin/common ranges weigh 1, every
  other code point (CJK, most symbols) weighs 2, an emoji sequence weighs 2 as a whole, and
  every URL counts 23 no matter its length. Text is NFC-normalized first.
- Mastodon: grapheme clusters, where a URL (with its scheme) counts 23 and a remote mention
  `@user@server` counts only `@user`.

Grapheme clusters come from the `regex` package (`\\X`, full Unicode rules) when it is
installed; otherwise from a small approximation of UAX #29 built on `unicodedata`, which
handles combining marks, ZWJ emoji sequences, skin tones, flags, keycaps, tags and Hangul.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

try:  # `regex` knows the full grapheme cluster rules; it is optional.
    import regex as _regex
except ImportError:  # pragma: no cover - exercised only where regex is missing
    _regex = None

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


def graphemes(text: str) -> list[str]:
    """`text` split into user-perceived characters (extended grapheme clusters)."""
    if _regex is not None:
        return _regex.findall(r"\X", text)
    return _approximate_graphemes(text)


def count_graphemes(text: str) -> int:
    return len(graphemes(text))


def _is_extend(cp: int) -> bool:
    if cp == 0x200D or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:
        return True
    if 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F or cp == 0x20E3:
        return True
    return unicodedata.category(chr(cp)) in ("Mn", "Me", "Mc")


_PICTOGRAPHIC_RANGES = (
    (0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2300, 0x23FF), (0x2B00, 0x2BFF), (0x2190, 0x21FF),
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
    (0x2139, 0x2139), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
)


def _is_pictographic(cp: int) -> bool:
    return any(start <= cp <= end for start, end in _PICTOGRAPHIC_RANGES)


def _is_regional_indicator(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _hangul_type(cp: int) -> str | None:
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return None


_HANGUL_JOINS = {
    "L": {"L", "V", "LV", "LVT"},
    "V": {"V", "T"},
    "LV": {"V", "T"},
    "T": {"T"},
    "LVT": {"T"},
}


def _approximate_graphemes(text: str) -> list[str]:
    clusters: list[str] = []
    current = ""
    previous = -1
    regional_run = 0
    for char in text:
        cp = ord(char)
        joins = False
        if current:
            if previous == 0x0D and cp == 0x0A:
                joins = True
            elif previous in (0x0D, 0x0A) or cp in (0x0D, 0x0A):
                joins = False
            elif _is_extend(cp):
                joins = True
            elif previous == 0x200D and _is_pictographic(cp) and _is_pictographic(ord(current[0])):
                joins = True  # ZWJ sequence: the next pictograph belongs to the same emoji
            elif _is_regional_indicator(cp) and _is_regional_indicator(previous) and regional_run % 2 == 1:
                joins = True
            else:
                before, after = _hangul_type(previous), _hangul_type(cp)
                joins = before is not None and after in _HANGUL_JOINS.get(before, set())
        if joins:
            current += char
        else:
            if current:
                clusters.append(current)
            current = char
            regional_run = 0
        regional_run = regional_run + 1 if _is_regional_indicator(cp) else 0
        previous = cp
    if current:
        clusters.append(current)
    return clusters


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
