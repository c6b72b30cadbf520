"""The adapters' HTTP client: its fast path answers exactly as httpx does, and fails with the
exceptions httpx would raise, phase by phase (the adapters' unknown-outcome logic relies on it)."""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from socialhub.channels.adapters import UnknownOutcomeError
from socialhub.channels.adapters.http import ApiClient
from socialhub.channels.transport import PlatformHttpClient


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
        self.server.seen.append((self.command, self.path))  # type: ignore[attr-defined]
        if url.path == "/slow":
            time.sleep(1.0)
        if url.path == "/drop":  # the request arrives and is processed, the answer never comes
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if url.path == "/gzip":
            payload = gzip.compress(b'{"zipped": true}')
            self._reply(200, payload, {"Content-Encoding": "gzip"})
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
        }
        self._reply(int(parse_qs(url.query).get("status", ["200"])[0]), json.dumps(echo).encode(),
                    {"Set-Cookie": "session=abc; Path=/"})

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("call", [
    ("GET", "/echo", {"params": {"limit": 40, "flag": True, "tags": ["a", "b"]}}),
    ("POST", "/echo", {"json": {"text": "héllo 👋", "n": [1, 2]}, "headers": {"Authorization": "Bearer t0k"}}),
    ("POST", "/echo?x=1", {"data": {"access_token": "abc", "message": "a&b=c"}}),
    ("POST", "/echo", {"content": b"\x89PNG raw bytes", "headers": {"Content-Type": "image/png"}}),
    ("DELETE", "/echo?status=404", {}),
])
def test_the_fast_path_answers_like_httpx(server, call):
    _, url = server
    method, path, kwargs = call
    with httpx.Client() as reference, PlatformHttpClient() as fast:
        expected = reference.request(method, url + path, **kwargs)
        got = fast.request(method, url + path, **kwargs)
    assert got.status_code == expected.status_code and got.is_success == expected.is_success
    mine, theirs = got.json(), expected.json()
    assert mine == {**theirs, "cookie": None}, "same request on the wire (and no cookie jar)"
    assert got.reason_phrase == expected.reason_phrase and got.headers["content-type"] == expected.headers["content-type"]


def test_no_cookie_is_ever_sent_back(server):
    _, url = server
    with PlatformHttpClient() as client:
        client.get(url + "/echo")
        assert client.get(url + "/echo").json()["cookie"] is None


def test_compressed_and_closing_answers_and_html_errors(server):
    _, url = server
    with PlatformHttpClient() as client:
        assert client.get(url + "/gzip").json() == {"zipped": True}
        assert client.get(url + "/close").json() == {"bye": True}
        assert client.get(url + "/echo").status_code == 200, "a new connection after the server closed one"
        answer = client.get(url + "/html-error")
        assert answer.status_code == 502 and "Bad gateway" in answer.text


def test_a_kept_alive_connection_the_server_dropped_is_replaced_not_reused(server):
    httpd, url = server
    with PlatformHttpClient() as client:
        assert client.get(url + "/echo").status_code == 200
        httpd.shutdown()  # the old server goes away with its connections
        httpd.server_close()
        replacement = ThreadingHTTPServer(("127.0.0.1", httpd.server_address[1]), Handler)
        replacement.seen = []
        threading.Thread(target=replacement.serve_forever, daemon=True).start()
        try:
            time.sleep(0.2)
            assert client.post(url + "/echo", json={"again": 1}).json()["body"] == '{"again":1}'
        finally:
            replacement.shutdown()
            replacement.server_close()


def test_failures_raise_the_exceptions_httpx_raises(server):
    httpd, url = server
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with PlatformHttpClient(timeout=httpx.Timeout(0.3)) as client:
        with pytest.raises(httpx.ConnectError):
            client.post(f"http://127.0.0.1:{closed_port}/x", json={})
        with pytest.raises(httpx.ReadTimeout):
            client.post(url + "/slow", json={})
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(url + "/drop", json={})
        assert client.get(url + "/echo").status_code == 200, "the client recovers"


def test_through_the_adapters_error_mapping_a_lost_answer_to_a_post_is_an_unknown_outcome(server):
    httpd, url = server
    with PlatformHttpClient(timeout=httpx.Timeout(0.3)) as client:
        api = ApiClient(platform="test", base_url=url, client=client)
        with pytest.raises(UnknownOutcomeError):
            api.request("POST", "/slow", json={"text": "maybe"})
        with pytest.raises(UnknownOutcomeError):
            api.request("POST", "/drop", json={"text": "maybe"})
    assert [p for m, p in httpd.seen if m == "POST"] == ["/slow", "/drop"], "each was received once"


def test_https_is_verified_with_the_given_context(tmp_path):
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
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
    url = f"https://127.0.0.1:{httpd.server_address[1]}/echo"
    try:
        trusting = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        with PlatformHttpClient(verify=trusting) as client:
            assert client.post(url, json={"secure": True}).json()["body"] == '{"secure":true}'
        with PlatformHttpClient() as client, pytest.raises(httpx.ConnectError):
            client.get(url)  # a self-signed certificate is refused by default
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_uploads_and_basic_auth_go_through_httpx_itself(server):
    _, url = server
    with PlatformHttpClient() as client:
        answer = client.post(url + "/echo", files={"file": ("a.png", b"data", "image/png")}, auth=("id", "secret"))
    echo = answer.json()
    assert echo["content_type"].startswith("multipart/form-data") and echo["authorization"].startswith("Basic ")
