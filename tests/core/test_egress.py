"""core.egress: no request reaches a non-global address, on any hop, in any spelling; one deadline.

Real sockets: small servers on 127.0.0.1 and 127.0.0.2 count the connections they accept, so
"refused" means no connection was ever made, not just an error message.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from socialhub.core import egress


class Server:
    """A tiny HTTP server; `routes` maps a path to (status, headers, body)."""

    def __init__(self, host: str, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.accepted = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                status, headers, body = routes.get(self.path, (404, {}, b"no"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Counting(ThreadingHTTPServer):
            def get_request(self):
                outer.accepted += 1
                return super().get_request()

        self.httpd = Counting((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def no_private(monkeypatch):
    monkeypatch.delenv("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", raising=False)


@pytest.fixture()
def secret() -> Iterator[Server]:
    server = Server("127.0.0.2", {"/": (200, {}, b"internal secret")})
    yield server
    server.close()


def test_loopback_in_every_spelling_is_refused_without_connecting(no_private, secret):
    port = secret.port
    urls = [
        f"http://127.0.0.2:{port}/",
        f"http://2130706434:{port}/",       # decimal
        f"http://0x7f.0.0.2:{port}/",       # hex
        f"http://localhost:{port}/",
        f"http://[::ffff:127.0.0.2]:{port}/",
    ]
    with egress.client(timeout=5) as client:
        for url in urls:
            with pytest.raises(httpx.ConnectError) as caught:
                client.get(url)
            assert str(caught.value) == egress.REFUSED, url
        with pytest.raises(httpx.InvalidURL):  # octal: httpx refuses to parse it at all
            client.get(f"http://0177.0.0.2:{port}/")
    assert secret.accepted == 0


@pytest.mark.parametrize("host", ["169.254.169.254", "0.0.0.0", "10.0.0.1", "100.64.0.1", "[fc00::1]", "[::1]",
                                  "192.168.1.1", "224.0.0.1"])
def test_private_link_local_shared_and_reserved_addresses_get_the_same_refusal(no_private, host):
    with egress.client(timeout=5) as client, pytest.raises(httpx.ConnectError) as caught:
        client.get(f"http://{host}:9/")
    assert str(caught.value) == egress.REFUSED


def test_a_redirect_to_a_private_address_is_refused_at_that_hop(monkeypatch, secret):
    monkeypatch.setenv("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", "127.0.0.1/32")  # the "public" server below
    public = Server("127.0.0.1", {"/feed": (302, {"Location": f"http://2130706434:{secret.port}/"}, b"")})
    try:
        with egress.client(timeout=5, follow_redirects=True) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                client.get(f"http://127.0.0.1:{public.port}/feed")
        assert str(caught.value) == egress.REFUSED
        assert public.accepted == 1 and secret.accepted == 0
    finally:
        public.close()


def test_a_closed_port_and_an_open_one_answer_alike_when_refused(no_private, secret):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    messages = set()
    with egress.client(timeout=5) as client:
        for port in (secret.port, closed_port):
            with pytest.raises(httpx.ConnectError) as caught:
                client.get(f"http://127.0.0.1:{port}/")
            messages.add(str(caught.value))
    assert messages == {egress.REFUSED}


def test_async_client_is_guarded_too(no_private, secret):
    async def fetch():
        async with egress.async_client(timeout=5) as client:
            await client.get(f"http://2130706434:{secret.port}/")

    with pytest.raises(httpx.ConnectError) as caught:
        asyncio.run(fetch())
    assert str(caught.value) == egress.REFUSED
    assert secret.accepted == 0


def test_allowed_private_networks_are_reachable_when_configured(monkeypatch, secret):
    monkeypatch.setenv("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", "1")
    with egress.client(timeout=5) as client:
        assert client.get(f"http://127.0.0.2:{secret.port}/").content == b"internal secret"


@pytest.fixture()
def dribbling_server() -> Iterator[int]:
    """Accepts, then sends its response headers one byte every 0.2 s (each read is quick)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


def test_one_overall_deadline_from_connect_to_last_byte(monkeypatch, dribbling_server):
    monkeypatch.setenv("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", "1")
    started = time.monotonic()
    with egress.client(timeout=5, total_seconds=1.0) as client, pytest.raises(httpx.TimeoutException):
        client.get(f"http://127.0.0.1:{dribbling_server}/")
    assert time.monotonic() - started < 2.5  # a per-read timeout of 5 s alone would wait ~40 s


def test_the_async_deadline_holds_as_well(monkeypatch, dribbling_server):
    monkeypatch.setenv("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", "1")

    async def fetch():
        async with egress.async_client(timeout=5, total_seconds=1.0) as client:
            await client.get(f"http://127.0.0.1:{dribbling_server}/")

    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        asyncio.run(fetch())
    assert time.monotonic() - started < 2.5


def test_the_ai_sdks_client_is_guarded_too(no_private, secret):
    import httpx2

    with egress.sdk_client(timeout=5) as client, pytest.raises(httpx2.ConnectError) as caught:
        client.get(f"http://2130706434:{secret.port}/")
    assert egress.is_refusal(caught.value) and secret.accepted == 0
