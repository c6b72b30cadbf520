"""The built-in offline provider: simple, deterministic, and honest about being simple.

- `summarize`: extractive. Sentences are scored by how many of the text's frequent content
  words they hold (plus a bonus for the lede) and the best ones are kept, in their original
  order, within the word budget. Nothing is invented: every word comes from the text.
- `key_points`: the best-scoring sentences (or clauses, for short texts), in text order.
- `hashtags` and `title`: the most frequent content words.
- `complete`: refused: free writing needs a real model (`AIError` says so).
- `LocalImage`: a title card drawn with Pillow (colour from a hash of the title, so the same
  digest always gets the same card).

Same input, same output, on every machine: no randomness, no clock, fonts bundled with Pillow.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import textwrap
from collections import Counter

from .base import AIError, as_hashtag, clip_words

LABEL = "Built-in offline summary"

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")
_CLAUSE = re.compile(r"\s*(?:;|:|—|–| - )\s+")
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each even ever every few for from further get gets got had
    hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its itself
    just let's like made make makes many may me might more most much must mustn't my myself new
    no nor not now of off often on once one only or other ought our ours ourselves out over own
    per really said same says see seen she she'd she'll she's should shouldn't since so some
    still such than that that's the their theirs them themselves then there there's these they
    they'd they'll they're they've this those though through to too two under until up upon us
    use used using very via was wasn't way we we'd we'll we're we've well were weren't what
    what's when when's where where's which while who who's whom why why's will with within
    without won't would wouldn't yet you you'd you'll you're you've your yours yourself
    yourselves according across after among around back big first going great know last least
    less little long lot next old part people put right say small take tell thing things think
    time told want week weeks year years day days today yesterday tomorrow read more monday
    tuesday wednesday thursday friday saturday sunday january february march april june july
    august september october november december""".split()
)


# ---- text helpers ---------------------------------------------------------------------------

def sentences(text: str) -> list[str]:
    text = " ".join((text or "").split())
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()] if text else []


def content_words(text: str) -> list[str]:
    return [w for w in (m.group(0).lower().strip("'’-") for m in _WORD.finditer(text or ""))
            if len(w) >= 3 and w not in STOP_WORDS]


def keywords(text: str, n: int, *, title: str = "") -> list[str]:
    """The n most frequent content words (title words count double), ties by first appearance."""
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for position, word in enumerate(content_words(title) * 2 + content_words(text)):
        counts[word] += 1
        first.setdefault(word, position)
    ranked = sorted(counts, key=lambda w: (-counts[w], first[w]))
    return ranked[:n]


def _display_forms(text: str) -> dict[str, str]:
    """How each word is most often written (PostgreSQL, iPhone, Rust) for hashtags and titles."""
    forms: dict[str, Counter[str]] = {}
    for match in _WORD.finditer(text or ""):
        raw = match.group(0).strip("'’-")
        forms.setdefault(raw.lower(), Counter())[raw] += 1
    return {word: counter.most_common(1)[0][0] for word, counter in forms.items()}


def _proper_nouns(text: str) -> set[str]:
    """Lower-cased words that appear capitalised somewhere other than at a sentence start."""
    names = set()
    for sentence in sentences(text):
        for match in list(_WORD.finditer(sentence))[1:]:
            word = match.group(0).strip("'’-")
            if word[:1].isupper():
                names.add(word.lower())
    return names


def _ranked_sentences(text: str) -> list[tuple[float, int, str]]:
    """(score, position, sentence), best first; the score favours frequent words and the lede."""
    parts = sentences(text)
    if not parts:
        return []
    freq = Counter(content_words(text))
    top = max(freq.values(), default=1)
    ranked = []
    for position, sentence in enumerate(parts):
        words = content_words(sentence)
        if not words:
            weight = 0.0
        else:
            weight = sum(freq[w] / top for w in words) / math.sqrt(len(words))
        weight += 0.6 if position == 0 else 0.25 if position == 1 else 0.0
        ranked.append((weight, position, sentence))
    ranked.sort(key=lambda r: (-r[0], r[1]))
    return ranked


# ---- the provider ---------------------------------------------------------------------------

class LocalText:
    """`TextModel` without a network: extractive summaries and keyword points and hashtags."""

    name = "local"
    label = LABEL

    def complete(self, prompt: str, *, system: str = "", max_tokens: int = 400) -> str:
        raise AIError("The built-in offline provider cannot write free text. Add an OpenAI or "
                      "Anthropic key in Settings to use a real model.")

    def summarize(self, text: str, *, max_words: int = 60) -> str:
        text = " ".join((text or "").split())
        if len(text.split(" ")) <= max_words:
            return text
        chosen: list[tuple[int, str]] = []
        seen: set[str] = set()
        budget = max_words
        for _, position, sentence in _ranked_sentences(text):
            size = len(sentence.split(" "))
            if sentence.lower() in seen:  # the same sentence twice says nothing new
                continue
            seen.add(sentence.lower())
            if size <= budget:
                chosen.append((position, sentence))
                budget -= size
            if budget < 6:
                break
        if not chosen:  # even the best sentence is too long: cut it at a word boundary
            best = _ranked_sentences(text)[0][2]
            return clip_words(best, max_words)
        return " ".join(sentence for _, sentence in sorted(chosen))

    def key_points(self, text: str, n: int = 4) -> list[str]:
        ranked = _ranked_sentences(text)
        if len(ranked) < n:  # a short text: its clauses are its points
            clauses = [c.strip(" ,.") for s in sentences(text) for c in _CLAUSE.split(s)]
            clauses = [c for c in clauses if len(c.split()) >= 3]
            if len(clauses) > len(ranked):
                ranked = _ranked_sentences(". ".join(c[:1].upper() + c[1:] for c in clauses) + ".")
        unique: list[tuple[float, int, str]] = []
        for entry in ranked:
            if entry[2].lower() not in (u[2].lower() for u in unique):
                unique.append(entry)
        best = sorted(unique[:n], key=lambda r: r[1])
        return [clip_words(sentence, 30) for _, _, sentence in best]

    def hashtags(self, text: str, n: int = 4) -> list[str]:
        forms = _display_forms(text)
        names = _proper_nouns(text)
        ranked = keywords(text, n * 3)
        # Names (capitalised mid-sentence: Rust, Cargo, PostgreSQL) make better tags than
        # frequent adjectives; among equals, keyword order decides (sort is stable).
        candidates = sorted(ranked, key=lambda w: w not in names)
        tags: list[str] = []
        for word in candidates:
            tag = as_hashtag(forms.get(word, word))
            # one tag per word family: #Release and #Released are the same tag twice
            if tag and not any(t.lower()[:6] == tag.lower()[:6] for t in tags):
                tags.append(tag)
        return tags[:n]

    def title(self, text: str, *, max_words: int = 10) -> str:
        """The first line's first sentence (for a digest: its top story), and how many more."""
        lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
        if not lines:
            return "Your digest"
        first = (sentences(lines[0]) or [lines[0]])[0].rstrip(".")
        first = clip_words(first, max_words)
        return first if len(lines) == 1 else f"{first} + {len(lines) - 1} more"


class LocalImage:
    """`ImageModel` without a network: a title card with the digest's title on it."""

    name = "local"
    label = "Built-in title card"

    def generate_image(self, prompt: str, *, size: str = "1200x630") -> bytes | None:
        from PIL import Image, ImageDraw, ImageFont

        width, height = _size(size)
        digest = hashlib.sha256((prompt or "").encode()).digest()
        hue_a, hue_b = digest[0] / 255, digest[1] / 255
        start, end = _hsv(hue_a, 0.55, 0.55), _hsv((hue_a + 0.12 + hue_b * 0.1) % 1, 0.6, 0.3)
        image = Image.new("RGB", (width, height), start)
        draw = ImageDraw.Draw(image)
        for y in range(height):  # vertical gradient, one line at a time (fast enough at 630 px)
            t = y / max(1, height - 1)
            draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(start, end)))
        margin = width // 15
        title_font = ImageFont.load_default(size=max(28, height // 9))
        small_font = ImageFont.load_default(size=max(16, height // 28))
        lines = textwrap.wrap(" ".join((prompt or "Your digest").split()), width=28)[:4]
        y = height // 4
        for line in lines:
            draw.text((margin, y), line, font=title_font, fill=(255, 255, 255))
            y += int(title_font.size * 1.25)
        draw.text((margin, height - margin - small_font.size), "SocialHub digest · " + LABEL.lower(),
                  font=small_font, fill=(235, 235, 245))
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()


def _size(size: str) -> tuple[int, int]:
    try:
        w, h = (int(part) for part in size.lower().split("x"))
    except ValueError:
        return 1200, 630
    return max(200, min(w, 2000)), max(100, min(h, 2000))


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    import colorsys

    return tuple(int(c * 255) for c in colorsys.hsv_to_rgb(h, s, v))  # type: ignore[return-value]
