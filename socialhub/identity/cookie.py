"""The session cookie's and the sign-in nonce cookie's names, and how to read them from a raw
Cookie header (the websocket handshake's, which the state handlers see).

The nonce cookie is HttpOnly and set by the HTTP layer on the first page a browser loads
(`api.LoginNonceMiddleware`); the sign-in handler stores its hash with the login ticket, and
`/auth/session` redeems a ticket only for the browser that sends the same nonce."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

COOKIE_NAME = "sh_session"
NONCE_COOKIE_NAME = "sh_login_nonce"


def _cookie(header: str, name: str) -> str:
    if not header:
        return ""
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel else ""


def token_from_cookie_header(header: str) -> str:
    return _cookie(header, COOKIE_NAME)


def nonce_from_cookie_header(header: str) -> str:
    return _cookie(header, NONCE_COOKIE_NAME)
