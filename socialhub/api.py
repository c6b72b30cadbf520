"""Plain HTTP routes beside the Reflex app (mounted with `api_transformer`).

- `/auth/session?ticket=…` swaps a one-time login ticket for the HttpOnly session cookie, only
  in the browser the ticket was made for (its `sh_login_nonce` cookie; see `identity.cookie`).
- `/auth/signout` (POST only, and only from our own pages: Origin or Referer must be
  PUBLIC_URL's) ends the session and clears the cookie.
- `/auth/verify-email?token=…` confirms an e-mail address (the link sent by e-mail).
- `/health` reports database reachability and the scheduler heartbeat's age (JSON).
- `/media/{key}` streams files from local storage (with Range requests), or redirects to S3.
- `/oauth/{platform}/start|callback` connect platform accounts (`socialhub/routes/oauth.py`).
- `/r/{token}` and `/o/{token}.gif|png` track digest e-mail clicks and opens (`socialhub/routes/digests.py`).
A middleware sends unauthenticated requests for protected pages to sign-in before any HTML is
served; the pages check again on load, and every event handler checks again after that.
Another gives every browser its HttpOnly sign-in nonce cookie with the first page it loads
(before its websocket connects, so the sign-in handler sees it), and one adds the security
headers (CSP, frame denial, HSTS over https, nosniff, referrer policy) to every response.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialhub.core.config import get_settings
from socialhub.core.db import session_scope
from socialhub.feed.routes import routes as digest_routes
from socialhub.channels.routes import routes as oauth_routes
from socialhub.identity import users
from socialhub.core import system
from socialhub.core.errors import ServiceError
from socialhub.core.secrets import new_token
from socialhub.identity.cookie import COOKIE_NAME, NONCE_COOKIE_NAME, nonce_from_cookie_header, token_from_cookie_header

PROTECTED_PREFIXES = ("/feed", "/remix", "/chat", "/schedule", "/analytics", "/inbox", "/settings")


def _set_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE_NAME, token, max_age=users.SESSION_DAYS * 86400, httponly=True, samesite="lax",
        secure=get_settings().secure_cookies, path="/",
    )


def _session_exchange(request: Request) -> Response:
    ticket = request.query_params.get("ticket", "")
    nonce = request.cookies.get(NONCE_COOKIE_NAME, "")
    if not nonce:  # tickets from the web are always bound to a nonce: no cookie, no sign-in
        return RedirectResponse("/signin?expired=1", status_code=303)
    try:
        with session_scope() as session:
            token, next_path = users.redeem_login_ticket(
                session, ticket=ticket, nonce=nonce, user_agent=request.headers.get("user-agent", ""))
    except ServiceError:
        return RedirectResponse("/signin?expired=1", status_code=303)
    response = RedirectResponse(next_path, status_code=303)
    _set_cookie(response, token)
    return response


async def session_exchange(request: Request) -> Response:
    return await run_in_threadpool(_session_exchange, request)


def _from_our_pages(request: Request) -> bool:
    """The request came from a page of ours: its Origin (or, without one, Referer) is PUBLIC_URL's."""
    ours = get_settings().public_origin
    origin = request.headers.get("origin", "")
    if origin and origin != "null":
        return origin.lower() == ours
    referer = request.headers.get("referer", "")
    if not referer:
        return False
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}".lower() == ours


def _signout(request: Request) -> Response:
    if not _from_our_pages(request):
        return Response("Sign out from SocialHub's own pages.", status_code=403)
    token = request.cookies.get(COOKIE_NAME, "")
    if token:
        with session_scope() as session:
            users.end_session(session, token=token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


async def signout(request: Request) -> Response:
    return await run_in_threadpool(_signout, request)


def _verify_email(request: Request) -> Response:
    try:
        with session_scope() as session:
            users.verify_email(session, token=request.query_params.get("token", ""))
    except ServiceError:
        return RedirectResponse("/settings?verified=expired", status_code=303)
    return RedirectResponse("/settings?verified=1", status_code=303)


async def verify_email(request: Request) -> Response:
    return await run_in_threadpool(_verify_email, request)


async def health(request: Request) -> Response:
    healthy, report = await run_in_threadpool(system.health_report, session_scope)
    report["status"] = "ok" if healthy else "degraded"
    return JSONResponse(report, status_code=200 if healthy else 503)


async def media(request: Request) -> Response:
    """A stored file, streamed from disk (Range requests give 206 partial content, so videos
    seek); with S3 storage, a redirect to a short-lived presigned URL. Never read whole."""
    from socialhub.core.storage import LocalStorage, check_key, get_storage

    key = request.path_params["key"]
    settings = get_settings()
    if settings.s3_bucket:
        try:
            url = get_storage().url(check_key(key))
        except ValueError:
            return Response("Not found", status_code=404)
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    store = LocalStorage(settings.media_dir)
    try:
        path = await run_in_threadpool(store.path, key)
    except (FileNotFoundError, ValueError):
        return Response("Not found", status_code=404)
    return FileResponse(path, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
                        media_type=_guess_type(key))


def _guess_type(key: str) -> str:
    import mimetypes

    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def _is_signed_in(cookie_header: str) -> bool:
    token = token_from_cookie_header(cookie_header)
    if not token:
        return False
    with session_scope() as session:
        return users.user_for_token(session, token=token) is not None


class ProtectPagesMiddleware:
    """Redirect GETs of protected pages to /signin?next=… when there is no valid session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            if any(path == p or path.startswith(p + "/") for p in PROTECTED_PREFIXES):
                cookie = dict(scope["headers"]).get(b"cookie", b"").decode("latin-1")
                if not await run_in_threadpool(_is_signed_in, cookie):
                    response = RedirectResponse(f"/signin?next={quote(path)}", status_code=303)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _header_present(headers: list[tuple[bytes, bytes]], name: bytes) -> bool:
    return any(key.lower() == name for key, _ in headers)


def content_security_policy() -> str:
    """What Reflex's front end needs: its own scripts plus inline ones and `eval` (call_script),
    inline styles (Radix, emotion), its websocket to PUBLIC_URL, images and media from anywhere
    over https (feed pictures, platform avatars). Nothing may frame the app."""
    settings = get_settings()
    ws = settings.public_origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https:",
        "media-src 'self' data: blob: https:",
        "font-src 'self' data:",
        f"connect-src 'self' {settings.public_origin} {ws}",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response (a route's own values win)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        extra = [
            (b"content-security-policy", content_security_policy().encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        if settings.public_url.startswith("https://"):
            extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in extra if not _header_present(headers, k)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoginNonceMiddleware:
    """Give a browser without one its sign-in nonce cookie, with the first HTML page it loads.

    It must come with a page, not later: Reflex handlers see the cookies of the websocket
    handshake, which the page opens after it has loaded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        cookie = dict(scope["headers"]).get(b"cookie", b"").decode("latin-1")
        if nonce_from_cookie_header(cookie):
            await self.app(scope, receive, send)
            return

        async def send_with_nonce(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                if html:
                    jar = Response()
                    jar.set_cookie(NONCE_COOKIE_NAME, new_token(), max_age=365 * 86400, httponly=True,
                                   samesite="lax", secure=get_settings().secure_cookies, path="/")
                    headers += [(k, v) for k, v in jar.raw_headers if k == b"set-cookie"]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_nonce)


def build_api() -> Starlette:
    return Starlette(
        routes=[
            Route("/auth/session", session_exchange, methods=["GET"]),
            Route("/auth/signout", signout, methods=["POST"]),
            Route("/auth/verify-email", verify_email, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/media/{key:path}", media, methods=["GET"]),
            *oauth_routes(),
            *digest_routes(),
        ],
        middleware=[Middleware(SecurityHeadersMiddleware), Middleware(LoginNonceMiddleware),
                    Middleware(ProtectPagesMiddleware)],
    )
