"""Digest e-mail tracking routes (the counting is in `digests.py`).

- `GET /r/{token}` counts a click on a story link of a digest e-mail and redirects (302) to the
  story; an unknown token answers 404 (never an open redirect: only stored story links).
- `GET /o/{token}.gif` counts an open and answers a 1×1 transparent GIF, uncached.
- `GET /o/{token}.png` (or .jpg/.webp) serves the digest's image from any storage backend, so
  the picture in the e-mail keeps working when media lives in S3.
Tokens are random (144 bits) and only ever appear in the e-mail.
"""

from __future__ import annotations

import base64

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from socialhub.core.db import session_scope
from socialhub.feed import digests

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0", "X-Content-Type-Options": "nosniff"}


def _click(token: str) -> str | None:
    with session_scope() as session:
        return digests.record_click(session, token=token)


async def click(request: Request) -> Response:
    url = await run_in_threadpool(_click, request.path_params["token"])
    if url is None:
        return Response("This link is not valid any more.", status_code=404, media_type="text/plain")
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _open(name: str) -> Response:
    token, _, ext = name.rpartition(".")
    if ext == "gif":
        with session_scope() as session:
            digests.record_open(session, token=token)
        return Response(PIXEL, media_type="image/gif", headers=NO_STORE)
    if ext in ("png", "jpg", "webp"):
        with session_scope() as session:
            found = digests.digest_image(session, token=token)
        if found is not None:
            return Response(found[0], media_type=found[1],
                            headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"})
    return Response("Not found", status_code=404, media_type="text/plain")


async def opened(request: Request) -> Response:
    return await run_in_threadpool(_open, request.path_params["name"])


def routes() -> list[Route]:
    return [
        Route("/r/{token:str}", click, methods=["GET"]),
        Route("/o/{name:str}", opened, methods=["GET"]),
    ]
