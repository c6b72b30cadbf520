"""The session cookie's name and how to read it from a raw Cookie header."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

COOKIE_NAME = "sh_session"


def token_from_cookie_header(header: str) -> str:
    if not header:
        return ""
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return ""
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel else ""
