"""E-mail addresses: the one way they are checked and written (trimmed, lower-cased)."""

from __future__ import annotations

import re

from socialhub.core.errors import ValidationError

_EMAIL_RE = re.compile(r"^[^@\s<>\"'\x00-\x1f\x7f]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL_RE.match(email) or ".." in email:
        raise ValidationError("Enter a valid e-mail address, like name@example.com.")
    return email
