"""A local feed-publishing web server for tests: real HTTP on 127.0.0.1, misbehaving on demand.

    with FeedServer() as server:
        server.feed("/feed.xml", body, etag='"v1"', last_modified="Tue, 05 Mar 2024 10:00:00 GMT")
        server.redirect("/old", "/feed.xml", status=301)
        server.route("/slow", body=body, delay=2.0)
        fetch_feed(server.url("/old"))
        assert server.count("/feed.xml") == 1

Each path is a `Route`: a body with a status and content type, optional validators (ETag /
Last-Modified, answered with 304 when the request's validators match), a redirect target, a
delay before answering, a slow "drip" of the body or of the headers (one byte at a time), gzip,
or no Content-Length. `FeedServer(host=...)` listens on another loopback address (127.0.0.2…). Every request is
recorded (`requests`, `count`), and a `ConcurrencyGauge` (optionally shared by several servers)
measures how many requests were being answered at the same time.
"""

from __future__ import annotations

import gzip as gzip_lib
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float | None = None
    drip_headers: float | None = None
    """Send the status line and headers one byte at a time, this many seconds apart."""
    chunk_size: int = 1024
    gzip: bool = False
    declare_length: bool = True


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]


class ConcurrencyGauge:
    """Counts requests being answered right now and the most seen at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def __enter__(self) -> ConcurrencyGauge:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.active -= 1

    def reset(self) -> None:
        with self._lock:
            self.max_active = self.active


class FeedServer:
    """A threaded stdlib HTTP server on a free 127.0.0.1 port serving configurable routes."""

    def __init__(self, gauge: ConcurrencyGauge | None = None, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self.gauge = gauge or ConcurrencyGauge()
        self.host = host
        self._lock = threading.Lock()
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.feed_server = self
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> FeedServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- configuration ---

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, **options: object) -> Route:
        route = Route(**options)  # type: ignore[arg-type]
        with self._lock:
            self.routes[path] = route
        return route

    def feed(self, path: str, body: bytes, *,
             content_type: str | None = "application/rss+xml; charset=utf-8",
             etag: str | None = None, last_modified: str | None = None, **options: object) -> Route:
        return self.route(path, body=body, content_type=content_type, etag=etag,
                          last_modified=last_modified, **options)

    def redirect(self, path: str, to: str, *, status: int = 301) -> Route:
        return self.route(path, status=status, location=to, content_type=None)

    # --- observation ---

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if path is None or r.path == path)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _lookup(self, raw_path: str) -> Route | None:
        with self._lock:
            return self.routes.get(raw_path) or self.routes.get(urlsplit(raw_path).path)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    feed_server: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that give up (timeouts, size limits) are expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        fake = self.server.feed_server
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake._record(RecordedRequest("GET", self.path, headers))
        with fake.gauge:
            route = fake._lookup(self.path)
            if route is None:
                self._send(404, b"<h1>Not Found</h1>", content_type="text/html")
                return
            if route.delay:
                time.sleep(route.delay)
            if route.location is not None:
                self._send(route.status, b"", headers={"Location": route.location})
                return
            if route.drip_headers is not None:
                self._drip_headers(route)
                return
            validators = {}
            if route.etag:
                validators["ETag"] = route.etag
            if route.last_modified:
                validators["Last-Modified"] = route.last_modified
            if route.status == 200 and self._not_modified(route):
                self._send(304, b"", headers=validators, content_type=None)
                return
            body = route.body
            headers = {**validators, **route.headers}
            if route.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
                body = gzip_lib.compress(body, compresslevel=6)
                headers["Content-Encoding"] = "gzip"
            self._send(route.status, body, headers=headers, content_type=route.content_type,
                       drip=route.drip, chunk_size=route.chunk_size,
                       declare_length=route.declare_length)

    def _not_modified(self, route: Route) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if route.etag and if_none_match:
            return route.etag in [tag.strip() for tag in if_none_match.split(",")]
        if_modified_since = self.headers.get("If-Modified-Since")
        if route.last_modified and if_modified_since:
            try:
                return parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(
                    route.last_modified
                )
            except (TypeError, ValueError):
                return False
        return False

    def _drip_headers(self, route: Route) -> None:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                + b"".join(b"X-Padding-%d: %s\r\n" % (n, b"x" * 40) for n in range(50))
                + b"Content-Length: %d\r\n\r\n" % len(route.body))
        self.close_connection = True
        try:
            for byte in head:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(route.drip_headers)
            self.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass

    def _send(self, status: int, body: bytes, *, headers: dict[str, str] | None = None,
              content_type: str | None = "text/html", drip: float | None = None,
              chunk_size: int = 1024, declare_length: bool = True) -> None:
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if declare_length:
                self.send_header("Content-Length", str(len(body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if status == 304 or not body:
                return
            if drip is None:
                self.wfile.write(body)
                return
            for start in range(0, len(body), chunk_size):
                self.wfile.write(body[start:start + chunk_size])
                self.wfile.flush()
                time.sleep(drip)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def make_rss(items: int, *, title: str = "Generated feed", site: str = "https://site.example",
             encoding: str = "utf-8", start: int = 0) -> bytes:
    """An RSS 2.0 document with `items` realistic items (newest first), encoded as declared."""
    entries = []
    for n in range(start + items - 1, start - 1, -1):
        day = 1 + n % 28
        entries.append(
            f"""    <item>
      <title>Story number {n}: what happened today</title>
      <link>{site}/posts/{n}?utm_source=rss</link>
      <guid isPermaLink="false">{site}/?p={n}</guid>
      <pubDate>Mon, {day:02d} Jan 2024 {n % 24:02d}:{n % 60:02d}:00 +0000</pubDate>
      <category>Topic {n % 7}</category>
      <description><![CDATA[<p>Summary of story {n} with a <a href="/posts/{n}">link</a>.</p>]]></description>
    </item>"""
        )
    document = f"""<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0">
  <channel>
    <title>{title}</title>
    <link>{site}</link>
    <description>Generated for tests</description>
{chr(10).join(entries)}
  </channel>
</rss>
"""
    return document.encode(encoding)
