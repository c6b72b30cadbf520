"""The plain HTTP routes beside the Reflex app: login cookie, sign-out, health, media, page guard.

`build_api()` mounts nothing at "": in the running app Reflex serves its pages behind these
routes. Here a tiny Starlette app stands in for it, answering every other path with 200.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from socialhub.core import config
from socialhub.core import storage
from socialhub.api import PROTECTED_PREFIXES, build_api
from socialhub.core.db import session_scope
from socialhub.core.storage import LocalStorage
from socialhub.identity.models import AuthSession, LoginTicket
from socialhub.identity import users
from socialhub.core import system
from socialhub.identity.cookie import COOKIE_NAME, NONCE_COOKIE_NAME

PASSWORD = "correct horse battery"
REFLEX_PAGE = "the reflex app"
NONCE = "this-browsers-nonce"  # the sign-in nonce cookie the test browser got with its first page
ORIGIN = {"origin": "http://localhost:3000"}  # PUBLIC_URL's origin: a form on our own page


def build_app() -> Starlette:
    async def page(request):
        return HTMLResponse(f"{REFLEX_PAGE}: {request.url.path}")

    api = build_api()
    api.mount("", Starlette(routes=[Route("/{path:path}", page, methods=["GET", "HEAD", "POST"])]))
    return api


@pytest.fixture
def client(database_url):
    with TestClient(build_app(), follow_redirects=False) as c:
        c.cookies.set(NONCE_COOKIE_NAME, NONCE)
        yield c


@pytest.fixture
def user(database_url):
    with session_scope() as session:
        return users.sign_up(session, name="Ada", email="ada@example.com", password=PASSWORD)


def new_ticket(user_id: int, next_path: str = "/feed", nonce: str = NONCE) -> str:
    with session_scope() as session:
        return users.create_login_ticket(session, user_id=user_id, next_path=next_path, nonce=nonce)


def new_session_token(user_id: int) -> str:
    with session_scope() as session:
        return users.redeem_login_ticket(session, ticket=users.create_login_ticket(session, user_id=user_id))[0]


def session_cookies(response) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{COOKIE_NAME}=")]


def cookie_attributes(cookie: str) -> tuple[str, dict[str, str]]:
    first, *attrs = [part.strip() for part in cookie.split(";")]
    value = first.split("=", 1)[1]
    parsed = {}
    for attr in attrs:
        key, _, val = attr.partition("=")
        parsed[key.lower()] = val
    return value, parsed


def count(model) -> int:
    with session_scope() as session:
        return len(session.exec(select(model)).all())


# ---- /auth/session ----------------------------------------------------------------------------

def test_ticket_is_swapped_for_an_httponly_cookie_and_a_redirect(client, user):
    ticket = new_ticket(user.id, next_path="/settings")
    response = client.get(f"/auth/session?ticket={ticket}", headers={"user-agent": "pytest-browser"})
    assert response.status_code == 303
    assert response.headers["location"] == "/settings"
    (cookie,) = session_cookies(response)
    token, attrs = cookie_attributes(cookie)
    assert "httponly" in attrs
    assert attrs["samesite"].lower() == "lax"
    assert attrs["path"] == "/"
    assert int(attrs["max-age"]) == users.SESSION_DAYS * 86400
    assert "secure" not in attrs  # PUBLIC_URL is http://localhost: a Secure cookie would never come back
    with session_scope() as session:
        assert users.user_for_token(session, token=token).id == user.id
        row = session.exec(select(AuthSession)).one()
        assert row.user_agent == "pytest-browser" and row.token_hash != token
    assert count(LoginTicket) == 0


def test_cookie_is_secure_when_public_url_is_https(client, user, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://social.example")
    config.get_settings.cache_clear()
    try:
        response = client.get(f"/auth/session?ticket={new_ticket(user.id)}")
    finally:
        config.get_settings.cache_clear()
    (cookie,) = session_cookies(response)
    _, attrs = cookie_attributes(cookie)
    assert "secure" in attrs and "httponly" in attrs
    assert response.headers["location"] == "/feed"


@pytest.mark.parametrize("ticket", ["", "made-up-ticket", "%00"])
def test_invalid_ticket_sends_to_signin_without_cookie(client, user, ticket):
    response = client.get(f"/auth/session?ticket={ticket}")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?expired=1"
    assert session_cookies(response) == []
    assert count(AuthSession) == 0


def test_ticket_works_only_once(client, user):
    ticket = new_ticket(user.id)
    assert session_cookies(client.get(f"/auth/session?ticket={ticket}"))
    again = client.get(f"/auth/session?ticket={ticket}")
    assert again.headers["location"] == "/signin?expired=1"
    assert session_cookies(again) == []
    assert count(AuthSession) == 1


def test_expired_ticket_is_refused(client, user):
    from datetime import timedelta

    ticket = new_ticket(user.id)
    with session_scope() as session:
        row = session.exec(select(LoginTicket)).one()
        row.expires_at -= timedelta(minutes=5)
        session.add(row)
    response = client.get(f"/auth/session?ticket={ticket}")
    assert response.headers["location"] == "/signin?expired=1"
    assert session_cookies(response) == []


@pytest.mark.parametrize("nonce", ["", "another-browsers-nonce"])
def test_ticket_is_refused_in_another_browser(client, user, nonce):
    """Login CSRF: a ticket made for one browser (say, an attacker's) cannot sign in another."""
    ticket = new_ticket(user.id)
    client.cookies.clear()
    if nonce:
        client.cookies.set(NONCE_COOKIE_NAME, nonce)
    response = client.get(f"/auth/session?ticket={ticket}")
    assert response.headers["location"] == "/signin?expired=1"
    assert session_cookies(response) == [] and count(AuthSession) == 0
    client.cookies.set(NONCE_COOKIE_NAME, NONCE)  # the browser it was made for still can
    assert session_cookies(client.get(f"/auth/session?ticket={ticket}"))


def test_ticket_made_without_a_browser_nonce_is_never_redeemed_over_http(client, user):
    response = client.get(f"/auth/session?ticket={new_ticket(user.id, nonce='')}")
    assert response.headers["location"] == "/signin?expired=1" and count(AuthSession) == 0


def nonce_cookies(response) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{NONCE_COOKIE_NAME}=")]


def test_the_first_page_a_browser_loads_gives_it_an_httponly_nonce_cookie(database_url):
    with TestClient(build_app(), follow_redirects=False) as fresh:
        (cookie,) = nonce_cookies(fresh.get("/signin"))
        value, attrs = cookie_attributes(cookie)
        assert len(value) >= 32 and "httponly" in attrs and attrs["samesite"].lower() == "lax"
        assert nonce_cookies(fresh.get("/signin")) == []  # kept, not replaced, once the browser has it
        assert nonce_cookies(fresh.get("/health")) == []  # only pages (HTML) set it


# ---- /auth/verify-email -------------------------------------------------------------------------

def _verification_token() -> str:
    from socialhub.core.models import Email

    with session_scope() as session:
        body = session.exec(select(Email.text_body).where(Email.to_address == "ada@example.com")).one()
    return body.split("verify-email?token=", 1)[1].split()[0]


def test_verification_link_confirms_the_address(client, user):
    response = client.get(f"/auth/verify-email?token={_verification_token()}")
    assert response.status_code == 303 and response.headers["location"] == "/settings?verified=1"
    with session_scope() as session:
        assert users.is_verified(users.get_user(session, user_id=user.id))
    again = client.get(f"/auth/verify-email?token={_verification_token()}")
    assert again.headers["location"] == "/settings?verified=expired"


def test_made_up_verification_link_verifies_nothing(client, user):
    response = client.get("/auth/verify-email?token=made-up")
    assert response.headers["location"] == "/settings?verified=expired"
    with session_scope() as session:
        assert not users.is_verified(users.get_user(session, user_id=user.id))


# ---- /auth/signout ----------------------------------------------------------------------------

def test_signout_ends_the_session_and_clears_the_cookie(client, user):
    token = new_session_token(user.id)
    other = new_session_token(user.id)  # another browser stays signed in
    response = client.post("/auth/signout", headers={"cookie": f"{COOKIE_NAME}={token}", **ORIGIN})
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    (cookie,) = session_cookies(response)
    value, attrs = cookie_attributes(cookie)
    assert value in ("", '""')
    assert attrs["max-age"] == "0" and attrs["path"] == "/"
    with session_scope() as session:
        assert users.user_for_token(session, token=token) is None
        assert users.user_for_token(session, token=other).id == user.id
    assert count(AuthSession) == 1


def test_signout_by_get_is_refused_so_other_sites_cannot_sign_you_out(client, user):
    token = new_session_token(user.id)
    response = client.get("/auth/signout", headers={"cookie": f"{COOKIE_NAME}={token}"})
    assert session_cookies(response) == []  # the cookie is not cleared …
    with session_scope() as session:  # … and the session still works
        assert users.user_for_token(session, token=token).id == user.id


@pytest.mark.parametrize("headers", [
    {"origin": "https://evil.example"},
    {"origin": "http://localhost:3000.evil.example"},
    {"referer": "https://evil.example/page"},
    {},  # neither: refused too
])
def test_signout_from_another_site_is_refused(client, user, headers):
    token = new_session_token(user.id)
    response = client.post("/auth/signout", headers={"cookie": f"{COOKIE_NAME}={token}", **headers})
    assert response.status_code == 403
    assert session_cookies(response) == []
    with session_scope() as session:
        assert users.user_for_token(session, token=token).id == user.id


def test_signout_with_only_a_referer_from_our_pages_works(client, user):
    token = new_session_token(user.id)
    response = client.post("/auth/signout", headers={"cookie": f"{COOKIE_NAME}={token}",
                                                     "referer": "http://localhost:3000/settings"})
    assert response.status_code == 303
    with session_scope() as session:
        assert users.user_for_token(session, token=token) is None


def test_signout_without_cookie_still_clears_it(client, user):
    new_session_token(user.id)
    response = client.post("/auth/signout", headers=ORIGIN)
    assert response.headers["location"] == "/signin"
    assert len(session_cookies(response)) == 1
    assert count(AuthSession) == 1


# ---- /health ----------------------------------------------------------------------------------

def test_health_is_503_without_a_scheduler_heartbeat(client):
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True and body["scheduler"]["ok"] is False


def test_health_is_200_after_a_heartbeat(client):
    with session_scope() as session:
        system.beat(session, instance_id="sched-1")
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["scheduler"]["ok"] is True and body["scheduler"]["live_instances"] == 1


# ---- protected pages --------------------------------------------------------------------------

PROTECTED = [*PROTECTED_PREFIXES, *(p + "/some/sub/page" for p in PROTECTED_PREFIXES)]


def test_every_documented_prefix_is_protected():
    assert set(PROTECTED_PREFIXES) == {"/feed", "/remix", "/chat", "/schedule", "/analytics", "/inbox", "/settings"}


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize("cookie", [None, f"{COOKIE_NAME}=bogus-token", f"{COOKIE_NAME}=", "other=1"])
def test_protected_pages_redirect_to_signin_without_a_valid_session(client, path, cookie):
    headers = {"cookie": cookie} if cookie else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?next={path}"
    assert REFLEX_PAGE not in response.text
    assert client.head(path, headers=headers).status_code == 303


@pytest.mark.parametrize("path", PROTECTED)
def test_protected_pages_pass_through_with_a_valid_session(client, user, path):
    token = new_session_token(user.id)
    response = client.get(path, headers={"cookie": f"theme=dark; {COOKIE_NAME}={token}"})
    assert response.status_code == 200
    assert response.text == f"{REFLEX_PAGE}: {path}"


def test_expired_session_cookie_is_refused(client, user):
    from datetime import timedelta

    token = new_session_token(user.id)
    with session_scope() as session:
        row = session.exec(select(AuthSession)).one()
        row.expires_at -= timedelta(days=users.SESSION_DAYS + 1)
        session.add(row)
    assert client.get("/feed", headers={"cookie": f"{COOKIE_NAME}={token}"}).status_code == 303


@pytest.mark.parametrize("path", ["/signin", "/signup", "/invite", "/manifest.json", "/", "/feedback", "/settingsx"])
def test_public_paths_are_not_touched(client, path):
    for headers in ({}, {"cookie": f"{COOKIE_NAME}=bogus"}):
        response = client.get(path, headers=headers)
        assert response.status_code == 200
        assert response.text == f"{REFLEX_PAGE}: {path}"


def test_health_is_not_behind_the_guard(client):
    assert client.get("/health", headers={"cookie": f"{COOKIE_NAME}=bogus"}).status_code in (200, 503)
    assert "location" not in client.get("/health").headers


def test_redirect_keeps_an_odd_path_harmless(client):
    response = client.get("/feed/%0d%0aSet-Cookie:%20x=1")
    location = response.headers["location"]
    assert response.status_code == 303
    assert "\r" not in location and "\n" not in location
    assert location.startswith("/signin?next=/feed/")
    assert [c for c in response.headers.get_list("set-cookie") if c.startswith("x=")] == []


# ---- security headers -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/signin", "/health", "/auth/session?ticket=x", "/feed"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp
    assert "connect-src 'self' http://localhost:3000 ws://localhost:3000" in csp  # Reflex's websocket
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in headers  # PUBLIC_URL is http


def test_hsts_only_when_public_url_is_https(client, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://social.example")
    config.get_settings.cache_clear()
    try:
        headers = client.get("/signin").headers
    finally:
        config.get_settings.cache_clear()
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert "wss://social.example" in headers["content-security-policy"]


def test_cors_allows_only_public_url(monkeypatch):
    import importlib

    import rxconfig

    monkeypatch.setenv("PUBLIC_URL", "https://social.example/")
    try:
        assert list(importlib.reload(rxconfig).config.cors_allowed_origins) == ["https://social.example"]
    finally:
        monkeypatch.undo()
        importlib.reload(rxconfig)


# ---- /media -----------------------------------------------------------------------------------

@pytest.fixture
def media(database_url):
    store = LocalStorage(config.get_settings().media_dir)
    store.put("ab/cdef0123.png", b"\x89PNG fake image", "image/png")
    secret = config.get_settings().data_dir / "secret.txt"
    secret.write_text("top secret")
    return store


def test_media_serves_a_stored_file(client, media):
    response = client.get("/media/ab/cdef0123.png")
    assert response.status_code == 200
    assert response.content == b"\x89PNG fake image"
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/media/%2e%2e/secret.txt",
        "/media/..%2fsecret.txt",
        "/media/ab/%2e%2e/%2e%2e/secret.txt",
        "/media/%2fetc%2fpasswd",
        "/media/ab%5c..%5c..%5csecret.txt",
        "/media/ab",  # a folder is not a file
        "/media/ab/missing.png",
        "/media/.hidden",
        "/media/ab/cdef0123.png%00.txt",
    ],
)
def test_media_refuses_escapes_and_missing_files(client, media, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"top secret" not in response.content


def test_media_refuses_a_raw_dot_dot_path(database_url, media):
    """Browsers and httpx collapse `/../`; a raw client need not, so send the scope as-is."""
    app = build_app()
    for raw in ("/media/../secret.txt", "/media/ab/../../secret.txt"):
        # In a thread of its own: asyncio.run() refuses to start where a loop is already running.
        with ThreadPoolExecutor(max_workers=1) as pool:
            status, body = pool.submit(asyncio.run, _raw_get(app, raw)).result()
        assert status == 404, raw
        assert b"top secret" not in body


def test_media_answers_a_range_request_with_206_and_those_bytes(client, media):
    data = bytes(range(256)) * 64  # 16 KB
    media.put("ab/video0123.mp4", data, "video/mp4")
    response = client.get("/media/ab/video0123.mp4", headers={"Range": "bytes=1000-1999"})
    assert response.status_code == 206
    assert response.content == data[1000:2000]
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["x-content-type-options"] == "nosniff"
    whole = client.get("/media/ab/video0123.mp4")
    assert whole.status_code == 200 and whole.content == data and whole.headers["accept-ranges"] == "bytes"
    tail = client.get("/media/ab/video0123.mp4", headers={"Range": f"bytes={len(data)}-"})
    assert tail.status_code == 416


def test_media_streams_a_large_file_without_reading_it_whole(client, media, monkeypatch):
    import pathlib

    data = bytes(range(256)) * (80 * 1024)  # 20 MB
    media.put("ab/large0123.mp4", data, "video/mp4")

    def refuse(*args, **kwargs):
        raise AssertionError("the whole file was read into memory")

    monkeypatch.setattr(pathlib.Path, "read_bytes", refuse)
    monkeypatch.setattr(LocalStorage, "get", refuse)
    with client.stream("GET", "/media/ab/large0123.mp4") as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(data))
        chunks = list(response.iter_raw())
    assert len(chunks) > 1, "sent in one piece"
    assert b"".join(chunks) == data


def test_media_with_s3_storage_redirects_to_a_presigned_url(client, media):
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"S3_BUCKET": "media-bucket", "S3_ENDPOINT_URL": "http://127.0.0.1:9",
                            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}.items():
            mp.setenv(name, value)
        config.get_settings.cache_clear()
        storage.get_storage.cache_clear()
        try:
            response = client.get("/media/ab/cdef0123.png", follow_redirects=False)
            assert response.status_code == 307
            location = response.headers["location"]
            assert location.startswith("http://127.0.0.1:9/media-bucket/ab/cdef0123.png?")
            assert "X-Amz-Signature=" in location
            assert client.get("/media/%2e%2e/secret.txt", follow_redirects=False).status_code == 404
        finally:
            config.get_settings.cache_clear()
            storage.get_storage.cache_clear()


def test_media_does_not_follow_a_symlink_out_of_the_folder(client, media):
    link = config.get_settings().media_dir / "ab" / "evil.png"
    link.symlink_to(config.get_settings().data_dir / "secret.txt")
    response = client.get("/media/ab/evil.png")
    assert response.status_code == 404
    assert b"top secret" not in response.content


async def _raw_get(app, path: str) -> tuple[int, bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body
