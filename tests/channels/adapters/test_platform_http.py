"""The shared HTTP path: how failures become platform errors, and rate-limit waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from socialhub.channels.adapters.exceptions import (
    AuthError,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
)
from socialhub.channels.adapters.http import ApiClient, retry_after_seconds
from tests.fakes.platforms.server import FakePlatformServer, RecordedRequest, Reply

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class EchoServer(FakePlatformServer):
    def routes(self) -> None:
        self.add_route("GET", r"/thing", lambda request: Reply(200, {"ok": True}))
        self.add_route("POST", r"/thing", lambda request: Reply(201, {"created": True}))
        self.add_route("PUT", r"/thing", lambda request: Reply(200, {"put": True}))
        self.add_route("POST", r"/teapot", lambda request: Reply(418, {"message": "I'm a teapot"}))


@pytest.fixture
def echo():
    with EchoServer() as server:
        yield server


@pytest.fixture
def api(echo, http_client):
    return ApiClient(platform="echo", base_url=echo.url, client=http_client, extract_message=lambda r: (r.json() or {}).get("message"))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "120"}, 120.0),
        ({"retry-after": format_datetime(NOW + timedelta(seconds=90), usegmt=True)}, 90.0),
        ({"x-rate-limit-reset": str(int((NOW + timedelta(seconds=45)).timestamp()))}, 45.0),
        ({"ratelimit-reset": str(int((NOW + timedelta(seconds=30)).timestamp()))}, 30.0),
        ({"x-ratelimit-reset": (NOW + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")}, 300.0),
        ({"x-rate-limit-reset": str(int((NOW - timedelta(seconds=5)).timestamp()))}, 0.0),
        ({}, None),
    ],
)
def test_retry_after_is_read_from_every_platforms_header(headers, expected):
    assert retry_after_seconds(httpx.Headers(headers), now=NOW) == expected


def test_success_returns_the_response(api):
    assert api.request("POST", "/thing").json() == {"created": True}


@pytest.mark.parametrize(
    ("kind", "error", "retryable"),
    [("rate_limit", RateLimitError, True), ("unauthorized", AuthError, False), ("server_error", PlatformError, True)],
)
def test_status_codes_map_to_errors(api, echo, kind, error, retryable):
    echo.fail_next(kind)

    with pytest.raises(error) as failure:
        api.request("GET", "/thing")

    assert failure.value.retryable is retryable and failure.value.platform == "echo"


def test_other_client_errors_are_final_and_carry_the_platform_message(api):
    with pytest.raises(PlatformError) as failure:
        api.request("POST", "/teapot")

    assert failure.value.message == "I'm a teapot" and failure.value.status_code == 418 and not failure.value.retryable


def test_timeout_after_sending_a_post_is_unknown_outcome(api, echo):
    echo.fail_next("timeout")

    with pytest.raises(UnknownOutcomeError):
        api.request("POST", "/thing")

    assert len(echo.received("POST", "/thing")) == 1  # the server did get it


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_timeout_on_a_repeatable_request_is_simply_retryable(api, echo, method):
    echo.fail_next("hang")

    with pytest.raises(PlatformError) as failure:
        api.request(method, "/thing")

    assert failure.value.retryable and not isinstance(failure.value, UnknownOutcomeError)


def test_refused_connection_is_retryable_because_nothing_was_sent(closed_port_url, http_client):
    api = ApiClient(platform="echo", base_url=closed_port_url, client=http_client)

    with pytest.raises(PlatformError) as failure:
        api.request("POST", "/thing")

    assert failure.value.retryable and not isinstance(failure.value, UnknownOutcomeError)
    assert "nothing was sent" in failure.value.message


def test_echo_server_records_request_details(echo, http_client):
    http_client.post(f"{echo.url}/thing?x=1", data={"a": "b"}, headers={"X-Test": "yes"})

    request: RecordedRequest = echo.received("POST")[0]
    assert request.query == {"x": ["1"]} and request.form == {"a": "b"} and request.headers["x-test"] == "yes"
