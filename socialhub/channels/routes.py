"""OAuth routes for connecting platform accounts (the flow is in `services/publishing_connect.py`).

- `GET /oauth/{platform}/start?team_id=…&instance=…` (signed in, admin or owner of the team;
  `instance` is the Mastodon server) → 303 to the platform's authorization page.
- `GET /oauth/{platform}/callback?code=…&state=…` → the account is stored with its tokens
  encrypted → 303 to `/settings?connected=<platform>#accounts`.
Any problem ends on `/settings?connect_error=<message>#accounts`, with a message for people.
The state is consumed in its own transaction before the code is traded, so it works once.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from socialhub.core.db import session_scope
from socialhub.identity import users
from socialhub.channels import connect
from socialhub.core.errors import ServiceError
from socialhub.identity.cookie import COOKIE_NAME

SETTINGS_PATH = "/settings"


def _back(**params: str) -> RedirectResponse:
    return RedirectResponse(f"{SETTINGS_PATH}?{urlencode(params)}#accounts", status_code=303)


def _user_id(request: Request) -> int | None:
    token = request.cookies.get(COOKIE_NAME, "")
    if not token:
        return None
    with session_scope() as session:
        user = users.user_for_token(session, token=token)
        return user.id if user else None


def _start(request: Request) -> Response:
    platform = request.path_params["platform"]
    user_id = _user_id(request)
    if user_id is None:
        return RedirectResponse(f"/signin?next={quote(SETTINGS_PATH)}", status_code=303)
    raw_team = request.query_params.get("team_id", "")
    try:
        # No transaction is held while the platform is asked (a Mastodon app registration).
        url = connect.begin_connect(team_id=int(raw_team) if raw_team.isdigit() else None, actor_id=user_id,
                                    platform=platform, instance=request.query_params.get("instance"))
    except ServiceError as exc:
        return _back(connect_error=str(exc))
    return RedirectResponse(url, status_code=303)


def _callback(request: Request) -> Response:
    platform = request.path_params["platform"]
    user_id = _user_id(request)
    if user_id is None:
        return RedirectResponse(f"/signin?next={quote(SETTINGS_PATH)}", status_code=303)
    params = request.query_params
    try:
        with session_scope() as session:
            pending = connect.consume_state(session, platform=platform, state=params.get("state", ""), user_id=user_id)
        if params.get("error"):
            reason = params.get("error_description") or params.get("error")
            return _back(connect_error=f"The connection was not made: {reason[:200]}")
        # The code is traded with no transaction open; the account(s) are stored afterwards.
        connected = connect.connect_with_code(pending=pending, code=params.get("code", ""))
        handles = ", ".join(a.handle for a in connected)
    except ServiceError as exc:
        return _back(connect_error=str(exc))
    return _back(connected=platform, handles=handles)


async def start(request: Request) -> Response:
    return await run_in_threadpool(_start, request)


async def callback(request: Request) -> Response:
    return await run_in_threadpool(_callback, request)


def routes() -> list[Route]:
    return [
        Route("/oauth/{platform:str}/start", start, methods=["GET"]),
        Route("/oauth/{platform:str}/callback", callback, methods=["GET"]),
    ]
