"""The adapters' HTTP client (`accounts.new_http_client`): the egress client with one pool.

It fails with httpx's own exceptions phase by phase (the adapters' unknown-outcome logic relies
on them), keeps connections alive and shares them between threads, keeps no cookies, checks
every address, and bounds every request by one overall deadline."""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import json
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from socialhub.channels import accounts
from socialhub.channels.adapters import PlatformError, UnknownOutcomeError
from socialhub.channels.adapters.http import ApiClient, REFUSED_CODE
from socialhub.core import egress


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        self.server.seen.append((self.command, self.path, self.client_address[1]))  # type: ignore[attr-defined]
        if url.path == "/slow":
            time.sleep(1.0)
        if url.path == "/drip":  # headers one byte at a time: each read is quick, the whole is not
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.05)
            return
        if url.path == "/drop":  # the request arrives and is processed, the answer never comes
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if url.path == "/gzip":
            self._reply(200, gzip.compress(b'{"zipped": true}'), {"Content-Encoding": "gzip"})
            return
        if url.path == "/html-error":
            self._reply(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"})
            return
        if url.path == "/close":
            self._reply(200, b'{"bye": true}', {"Connection": "close"})
            self.close_connection = True
            return
        echo = {
            "method": self.command, "path": url.path, "query": parse_qs(url.query),
            "content_type": self.headers.get("Content-Type"), "authorization": self.headers.get("Authorization"),
            "body": body.decode("latin-1"), "cookie": self.headers.get("Cookie"),
            "user_agent": self.headers.get("User-Agent"),
        }
        self._reply(int(parse_qs(url.query).get("status", ["200"])[0]), json.dumps(echo).encode(),
                    {"Set-Cookie": "session=abc; Path=/"})

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, *args) -> None:
        pass


def start_server(handler=Handler, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    httpd.daemon_threads = True
    httpd.seen = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture
def server():
    httpd, url = start_server()
    yield httpd, url
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client_for(monkeypatch):
    made = []

    def make(*, timeout: float = 30.0, total: float = 120.0, connections: int = 4) -> httpx.Client:
        monkeypatch.setenv("PUBLISH_HTTP_TIMEOUT_SECONDS", str(timeout))
        monkeypatch.setenv("PUBLISH_HTTP_TOTAL_SECONDS", str(total))
        client = accounts.new_http_client(max_connections=connections)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_it_is_the_egress_client_with_the_pool_asked_for(client_for):
    client = client_for(connections=7, total=45)
    assert isinstance(client, egress.Client) and client.total_seconds == 45
    assert client._transport._pool._max_connections == 7


@pytest.mark.parametrize("call", [
    ("GET", "/echo", {"params": {"limit": 40, "flag": True, "tags": ["a", "b"]}}),
    ("POST", "/echo", {"json": {"text": "héllo 👋", "n": [1, 2]}, "headers": {"Authorization": "Bearer t0k"}}),
    ("POST", "/echo?x=1", {"data": {"access_token": "abc", "message": "a&b=c"}}),
    ("POST", "/echo", {"content": b"\x89PNG raw bytes", "headers": {"Content-Type": "image/png"}}),
    ("DELETE", "/echo?status=404", {}),
])
def test_requests_go_out_as_httpx_sends_them_without_cookies(server, client_for, call):
    _, url = server
    method, path, kwargs = call
    client = client_for()
    with httpx.Client() as reference:
        expected = reference.request(method, url + path, **kwargs)
    got = client.request(method, url + path, **kwargs)
    assert got.status_code == expected.status_code
    mine, theirs = got.json(), expected.json()
    assert mine["user_agent"].startswith("SocialHub")
    assert {**mine, "user_agent": None} == {**theirs, "cookie": None, "user_agent": None}


def test_no_cookie_is_ever_kept_or_sent_back(server, client_for):
    _, url = server
    client = client_for()
    client.get(url + "/echo")
    assert client.get(url + "/echo").json()["cookie"] is None
    assert not list(client.cookies.jar)


def test_compressed_and_closing_answers_and_html_errors(server, client_for):
    _, url = server
    client = client_for()
    assert client.get(url + "/gzip").json() == {"zipped": True}
    assert client.get(url + "/close").json() == {"bye": True}
    assert client.get(url + "/echo").status_code == 200, "a new connection after the server closed one"
    answer = client.get(url + "/html-error")
    assert answer.status_code == 502 and "Bad gateway" in answer.text


def test_connections_are_kept_alive_and_shared_by_threads(server, client_for):
    httpd, url = server
    client = client_for(connections=4)  # at least one per thread: see `accounts.new_http_client`
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: client.post(url + "/echo", json={"n": n}).status_code, range(200)))
    assert answers == [200] * 200
    ports = {port for _, _, port in httpd.seen}
    assert len(ports) <= 4, "one pool for every thread, each connection reused"


def test_a_kept_alive_connection_the_server_dropped_is_replaced_not_reused(server, client_for):
    httpd, url = server
    client = client_for()
    assert client.get(url + "/echo").status_code == 200
    httpd.shutdown()  # the old server goes away with its connections
    httpd.server_close()
    replacement, _ = start_server(port=httpd.server_address[1])
    try:
        time.sleep(0.2)
        assert client.post(url + "/echo", json={"again": 1}).json()["body"] == '{"again":1}'
    finally:
        replacement.shutdown()
        replacement.server_close()


def test_failures_raise_the_exceptions_httpx_raises(server, client_for):
    _, url = server
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    client = client_for(timeout=0.3)
    with pytest.raises(httpx.ConnectError):
        client.post(f"http://127.0.0.1:{closed_port}/x", json={})
    with pytest.raises(httpx.ReadTimeout):
        client.post(url + "/slow", json={})
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(url + "/drop", json={})
    assert client.get(url + "/echo").status_code == 200, "the client recovers"


def test_one_overall_deadline_bounds_a_server_that_answers_byte_by_byte(server, client_for):
    _, url = server
    client = client_for(timeout=5, total=0.5)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        client.get(url + "/drip")
    assert time.monotonic() - started < 1.5


def test_through_the_adapters_error_mapping_a_lost_answer_to_a_post_is_an_unknown_outcome(server, client_for):
    httpd, url = server
    api = ApiClient(platform="test", base_url=url, client=client_for(timeout=0.3))
    with pytest.raises(UnknownOutcomeError):
        api.request("POST", "/slow", json={"text": "maybe"})
    with pytest.raises(UnknownOutcomeError):
        api.request("POST", "/drop", json={"text": "maybe"})
    assert [p for m, p, _ in httpd.seen if m == "POST"] == ["/slow", "/drop"], "each was received once"


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]"])
def test_private_addresses_are_refused_before_any_connection(server, client_for, monkeypatch, address):
    httpd, url = server
    monkeypatch.delenv("SOCIALHUB_ALLOW_PRIVATE_NETWORKS")
    port = httpd.server_address[1]
    api = ApiClient(platform="test", base_url=f"http://{address}:{port}", client=client_for())
    with pytest.raises(PlatformError) as refused:
        api.request("POST", "/echo", json={"text": "to the metadata service?"})
    assert (refused.value.message, refused.value.code, refused.value.retryable) == (egress.REFUSED, REFUSED_CODE, False)
    assert httpd.seen == [], "nothing reached the server"


def test_https_certificates_are_verified(tmp_path, client_for):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.seen = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(httpx.ConnectError):
            client_for().get(f"https://127.0.0.1:{httpd.server_address[1]}/echo")  # self-signed: refused
    finally:
        httpd.shutdown()
        httpd.server_close()
