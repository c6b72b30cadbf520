"""Cleaning untrusted text for Remix (titles, tags, prompts, comments, brand fields).

Text is stored as typed but without NUL and other control characters, length-capped with a
message that says the limit. Pages render it as text (never as HTML), so markup stays inert.
"""

from __future__ import annotations

import re

from socialhub.core.errors import ValidationError

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TAG = re.compile(r"[^\w\- ]+", re.UNICODE)


def clean(text: str | None, *, limit: int, what: str, required: bool = False, one_line: bool = True) -> str:
    value = _CONTROL.sub("", (text or "").replace("\r\n", "\n"))
    value = " ".join(value.split()) if one_line else value.strip()
    if required and not value:
        raise ValidationError(f"{what} is required.")
    if len(value) > limit:
        raise ValidationError(f"{what} can have at most {limit:,} characters (this has {len(value):,}).")
    return value


def clean_tags(tags: list[str] | str | None, *, limit: int = 12) -> list[str]:
    """Lower-case tags without `#` or punctuation, unique, at most `limit` of 40 characters each."""
    if isinstance(tags, str):
        tags = re.split(r"[,\n]", tags)
    out: list[str] = []
    for tag in tags or []:
        tag = " ".join(_TAG.sub("", _CONTROL.sub("", tag or "")).lower().split())[:40]
        if tag and tag not in out:
            out.append(tag)
    if len(out) > limit:
        raise ValidationError(f"An ad can have at most {limit} tags.")
    return out
