"""Plain HTTP routes beside the Reflex app (mounted with `api_transformer`).

- `/auth/session?ticket=…` swaps a one-time login ticket for the HttpOnly session cookie.
- `/auth/signout` (POST only, so a link on another site cannot sign anyone out) ends the
  session and clears the cookie.
- `/health` reports database reachability and the scheduler heartbeat's age (JSON).
- `/media/{key}` serves files from local storage.
- `/oauth/{platform}/start|callback` connect platform accounts (`socialhub/routes/oauth.py`).
- `/r/{token}` and `/o/{token}.gif|png` track digest e-mail clicks and opens (`socialhub/routes/digests.py`).
A middleware sends unauthenticated requests for protected pages to sign-in before any HTML is
served; the pages check again on load, and every event handler checks again after that.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from socialhub.core.config import get_settings
from socialhub.core.db import session_scope
from socialhub.feed.routes import routes as digest_routes
from socialhub.channels.routes import routes as oauth_routes
from socialhub.identity import users
from socialhub.core import system
from socialhub.core.errors import ServiceError
from socialhub.identity.cookie import COOKIE_NAME, token_from_cookie_header

PROTECTED_PREFIXES = ("/feed", "/remix", "/chat", "/schedule", "/analytics", "/inbox", "/settings")


def _set_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE_NAME, token, max_age=users.SESSION_DAYS * 86400, httponly=True, samesite="lax",
        secure=get_settings().secure_cookies, path="/",
    )


def _session_exchange(request: Request) -> Response:
    ticket = request.query_params.get("ticket", "")
    try:
        with session_scope() as session:
            token, next_path = users.redeem_login_ticket(
                session, ticket=ticket, user_agent=request.headers.get("user-agent", ""))
    except ServiceError:
        return RedirectResponse("/signin?expired=1", status_code=303)
    response = RedirectResponse(next_path, status_code=303)
    _set_cookie(response, token)
    return response


async def session_exchange(request: Request) -> Response:
    return await run_in_threadpool(_session_exchange, request)


def _signout(request: Request) -> Response:
    token = request.cookies.get(COOKIE_NAME, "")
    if token:
        with session_scope() as session:
            users.end_session(session, token=token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


async def signout(request: Request) -> Response:
    return await run_in_threadpool(_signout, request)


async def health(request: Request) -> Response:
    healthy, report = await run_in_threadpool(system.health_report, session_scope)
    report["status"] = "ok" if healthy else "degraded"
    return JSONResponse(report, status_code=200 if healthy else 503)


async def media(request: Request) -> Response:
    from socialhub.core.storage import LocalStorage

    store = LocalStorage(get_settings().media_dir)
    key = request.path_params["key"]
    try:
        data = await run_in_threadpool(store.get, key)
    except (FileNotFoundError, ValueError):
        return Response("Not found", status_code=404)
    return Response(data, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
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


def build_api() -> Starlette:
    return Starlette(
        routes=[
            Route("/auth/session", session_exchange, methods=["GET"]),
            Route("/auth/signout", signout, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/media/{key:path}", media, methods=["GET"]),
            *oauth_routes(),
            *digest_routes(),
        ],
        middleware=[Middleware(ProtectPagesMiddleware)],
    )
