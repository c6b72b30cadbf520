"""The AI protocols every provider implements, their error, and the prompts remote ones share.

`TextModel` has one typed method per job the app needs (no `**kwargs`), so a caller never
builds prompts itself and the offline provider can do each job its own honest way.
`RemoteTextModel` implements the jobs for chat-style APIs on top of one `complete` call; the
replies are parsed defensively (a model that numbers its points or forgets the `#` still
gives clean points and hashtags).
"""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

MAX_INPUT_CHARS = 6000
"""Text sent to a remote model is cut to this: a story's lede carries it, and tokens cost."""

MAX_IMAGE_BYTES = 10_000_000


class AIError(Exception):
    """A provider call failed. `str()` is a sentence for the person; `retryable` says if later may work."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@runtime_checkable
class TextModel(Protocol):
    name: str
    """`local`, `openai` or `anthropic`."""
    label: str
    """What the digest says wrote it, e.g. "Built-in offline summary" or "OpenAI gpt-4o-mini"."""

    def complete(self, prompt: str, *, system: str = "", max_tokens: int = 400) -> str: ...

    def summarize(self, text: str, *, max_words: int = 60) -> str: ...

    def key_points(self, text: str, n: int = 4) -> list[str]: ...

    def hashtags(self, text: str, n: int = 4) -> list[str]: ...

    def title(self, text: str, *, max_words: int = 10) -> str: ...


@runtime_checkable
class ImageModel(Protocol):
    name: str
    label: str

    def generate_image(self, prompt: str, *, size: str = "1536x1024") -> bytes | None: ...


# ---- shared by the remote providers ----------------------------------------------------------

SYSTEM = (
    "You help a reader with their daily news digest. Be factual and brief, use only what the "
    "text says, and answer with the requested output only: no preamble, no markdown."
)

_BULLET = re.compile(r"^\s*(?:[-*•·–—]|\d{1,2}[.)]|[a-z][.)])\s*")
_HASHTAG_WORD = re.compile(r"#?([^\W_][\w]*)", re.UNICODE)


def clip(text: str, limit: int = MAX_INPUT_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def clip_words(text: str, max_words: int) -> str:
    words = " ".join((text or "").split()).split(" ")
    if len(words) <= max_words:
        return " ".join(words).strip()
    return " ".join(words[:max_words]).rstrip(" ,;:.-–—") + "…"


def parse_points(reply: str, n: int) -> list[str]:
    """One point per line, bullets and numbering removed, empty lines dropped."""
    points = []
    for line in (reply or "").splitlines():
        line = _BULLET.sub("", line).strip().strip('"').strip()
        if line and not line.endswith(":"):
            points.append(clip_words(line, 30))
    return points[:n]


def as_hashtag(word: str) -> str:
    """`#Word`: CamelCase for several words, original case kept when it has capitals already."""
    parts = re.findall(r"[^\W_]+", word, re.UNICODE)
    if not parts:
        return ""
    joined = "".join(p if any(c.isupper() for c in p) else p[:1].upper() + p[1:] for p in parts)
    return "#" + joined[:40]


def parse_hashtags(reply: str, n: int) -> list[str]:
    """Hashtags from a reply such as "#AI #open_source, Rust": unique, `#`-prefixed, at most n."""
    seen: dict[str, str] = {}
    for match in _HASHTAG_WORD.finditer(reply or ""):
        tag = as_hashtag(match.group(1))
        if tag and len(tag) > 2 and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return list(seen.values())[:n]


def image_kind(data: bytes) -> str | None:
    """`png`/`jpg`/`webp` by magic bytes, or None: never trust a provider's word for it."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


class RemoteTextModel:
    """The jobs of `TextModel` done through `complete`, for chat-completion style APIs."""

    name = "remote"
    label = "Remote model"

    def complete(self, prompt: str, *, system: str = "", max_tokens: int = 400) -> str:  # pragma: no cover
        raise NotImplementedError

    def summarize(self, text: str, *, max_words: int = 60) -> str:
        reply = self.complete(
            f"Summarise this story in at most {max_words} words.\n\n{clip(text)}",
            system=SYSTEM, max_tokens=max_words * 3,
        )
        return clip_words(reply, max_words + max_words // 2)

    def key_points(self, text: str, n: int = 4) -> list[str]:
        reply = self.complete(
            f"List the {n} most important points of this story, one per line, each under 20 words."
            f"\n\n{clip(text)}",
            system=SYSTEM, max_tokens=60 * n,
        )
        return parse_points(reply, n)

    def hashtags(self, text: str, n: int = 4) -> list[str]:
        reply = self.complete(
            f"Suggest {n} hashtags for this story, separated by spaces, each starting with #."
            f"\n\n{clip(text)}",
            system=SYSTEM, max_tokens=20 * n,
        )
        return parse_hashtags(reply, n)

    def title(self, text: str, *, max_words: int = 10) -> str:
        reply = self.complete(
            f"Write one title of at most {max_words} words for a digest of these stories."
            f"\n\n{clip(text)}",
            system=SYSTEM, max_tokens=max_words * 4,
        )
        line = next((ln for ln in reply.splitlines() if ln.strip()), "")
        return clip_words(line.strip().strip('"“”').strip(), max_words + 4)
