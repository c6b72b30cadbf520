"""Item HTML made safe to store and show, and plain-text excerpts of it.

Feed HTML is written by strangers. `sanitize_html` keeps an allow-list of formatting tags and
attributes (nh3, the Rust `ammonia` sanitiser): scripts, styles, iframes, forms, event handlers
(`onerror=`), `style=` and any URL that is not http(s)/mailto (`javascript:`, `data:`) are
removed; relative links and images are made absolute; every link gets
`rel="noopener noreferrer"`. Nothing else in SocialHub should render feed HTML that did not go
through here.
"""

from __future__ import annotations

import html as html_lib
import re

import nh3

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details",
        "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
        "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
        "th", "thead", "time", "tr", "u", "ul",
    }
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start", "reversed"},
}
# Removed together with everything inside them.
DROPPED_WITH_CONTENT: frozenset[str] = frozenset(
    {"script", "style", "template", "iframe", "object", "embed", "noscript", "svg", "math",
     "form", "textarea", "select", "button", "title", "head"}
)
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer"

EXCERPT_CHARS = 280

_BLOCK_TAG = re.compile(
    r"<(?=/?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|pre|section|article|header|"
    r"footer|figure|figcaption|dd|dt|dl|hr|img)\b)",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")


def sanitize_html(html: str, *, base_url: str | None = None) -> str:
    """Return `html` reduced to the allow-list, with relative URLs resolved against `base_url`."""
    if not html or not html.strip():
        return ""
    relative: object = "deny"
    if base_url and base_url.lower().startswith(("http://", "https://")):
        relative = ("rewrite_with_base", base_url)
    try:
        cleaned = _clean(html, relative)
    except (ValueError, TypeError):  # a base URL the sanitiser refuses: drop relative links
        cleaned = _clean(html, "deny")
    return cleaned.strip()


def _clean(html: str, url_relative: object) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        url_relative=url_relative,
    )


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags removed, entities decoded, whitespace collapsed."""
    if not html:
        return ""
    spaced = _BLOCK_TAG.sub(" <", html)
    stripped = nh3.clean(spaced, tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))
    return _SPACE.sub(" ", html_lib.unescape(stripped)).strip()


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Cut plain text to `limit` characters at a word boundary, adding an ellipsis if cut."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def text_to_html(text: str) -> str:
    """Escape plain text into paragraphs (JSON Feed `content_text`, RSS plain descriptions)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(
        "<p>" + html_lib.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs
    )
