"""Password hashing (scrypt, stdlib) and random tokens that are stored only as hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt cost: OWASP's minimum (N=2**17, r=8, p=1; 128 MiB per hash). The parameters are
# stored in each hash (`scrypt$N$r$p$salt$digest`), so older, cheaper hashes still verify and
# are upgraded at the next successful sign-in (`needs_rehash`).
_N, _R, _P, _DKLEN = 2**17, 8, 1, 32
_MAXMEM = 256 * 1024 * 1024


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN, maxmem=_MAXMEM)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${_N}${_R}${_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected), maxmem=_MAXMEM,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str) -> bool:
    """True when a stored hash was made with weaker parameters than today's."""
    try:
        scheme, n, r, p, _salt, _digest = stored.split("$")
        return scheme != "scrypt" or int(n) < _N or int(r) < _R or int(p) < _P
    except ValueError:
        return True


_dummy_hash: str | None = None


def verify_dummy_password(password: str) -> bool:
    """Spend the time a real check takes, for an account that does not exist; always False.

    So the answer to a sign-in with an unknown address comes no faster than with a known one.
    """
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    verify_password(password, _dummy_hash)
    return False


def new_token() -> str:
    """32 random bytes, URL-safe: for session cookies, login tickets and invite links."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
