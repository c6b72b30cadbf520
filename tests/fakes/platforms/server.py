"""A small threaded HTTP server that platform fakes build on.

A fake is a `FakePlatformServer` subclass that registers routes in `routes()`. It runs on
127.0.0.1 on a free port (`start()`/`stop()`, or `with`), records every request it receives
(`requests`, `received(...)`), checks authentication through `authenticate()`, and can be told
to fail the next matching request(s) with `fail_next(kind, ...)`:

- "rate_limit": the platform's own 429 (or throttling) answer, with its rate-limit headers;
- "unauthorized": the platform's 401 answer;
- "server_error": the platform's 5xx answer;
- "timeout": the request is *processed* (the post is created), then the server sleeps past the
  client's timeout before answering, as when a response is lost after the platform acted;
- "hang": the server sleeps without processing (the request never took effect).

Subclasses override `failure_reply()` so each failure has the platform's real body and headers.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

FAILURE_KINDS = ("rate_limit", "unauthorized", "server_error", "timeout", "hang")


@dataclass
class Part:
    """One field of a multipart/form-data body."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict[str, str]:
        if self.content_type.startswith("application/x-www-form-urlencoded"):
            return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}
        if self.content_type.startswith("multipart/form-data"):
            return {name: part.text for name, part in self.multipart.items() if part.filename is None}
        return {}

    @property
    def multipart(self) -> dict[str, Part]:
        return parse_multipart(self.body, self.content_type)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A parameter from the query string, else from a form body."""
        if name in self.query:
            return self.query[name][-1]
        return self.form.get(name, default)

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() in ("bearer", "oauth") and token else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def encoded(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", self.content_type or "application/json"
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.content_type or "text/html; charset=utf-8"
        return json.dumps(self.body).encode("utf-8"), self.content_type or "application/json; charset=utf-8"


@dataclass
class Failure:
    kind: str
    method: str | None
    path: str | None
    times: int
    retry_after: int
    after: int = 0


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Reply]
    auth: bool


def parse_multipart(body: bytes, content_type: str) -> dict[str, Part]:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return {}
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts: dict[str, Part] = {}
    for section in body.split(delimiter)[1:]:
        if section.startswith(b"--"):
            break
        section = section[2:] if section.startswith(b"\r\n") else section
        head, _, data = section.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name:
            parts[name.group(1)] = Part(name.group(1), data, filename.group(1) if filename else None, headers.get("content-type"))
    return parts


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakePlatform/1.0"

    def _serve(self) -> None:
        fake: FakePlatformServer = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        reply, delay = fake.dispatch(request)
        if delay:
            time.sleep(delay)
        payload, content_type = reply.encoded()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass


class FakePlatformServer:
    """Base of the platform fakes; see the module docstring."""

    platform = "fake"
    timeout_delay = 1.5  # seconds; longer than the clients' timeouts in tests
    host = "127.0.0.1"  # any 127.x address works on Linux (tests that allow only one address)

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: list[_Route] = []
        self._failures: list[Failure] = []
        self._slow: list[tuple[str | None, str, float]] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.routes()

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> FakePlatformServer:
        httpd = ThreadingHTTPServer((self.host, 0), _Handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the fake first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    # -- configuration ------------------------------------------------------------------------

    def add_route(self, method: str, pattern: str, handler: Callable[..., Reply], *, auth: bool = True) -> None:
        """`handler(request, **named_groups)`; `auth=False` skips `authenticate()`."""
        self._routes.append(_Route(method, re.compile(pattern + r"\Z"), handler, auth))

    def fail_next(
        self, kind: str, *, method: str | None = None, path: str | None = None, times: int = 1, retry_after: int = 7, after: int = 0
    ) -> None:
        """Fail `times` requests matching `method` and the `path` regex (searched), after letting `after` of them through."""
        assert kind in FAILURE_KINDS, kind
        with self._lock:
            self._failures.append(Failure(kind, method, path, times, retry_after, after))

    def slow_down(self, path: str, seconds: float, *, method: str | None = None) -> None:
        """Answer requests matching `method` and the `path` regex (searched) `seconds` late (successfully)."""
        with self._lock:
            self._slow.append((method, path, seconds))

    def _slowness(self, request: RecordedRequest) -> float:
        with self._lock:
            return max([s for m, p, s in self._slow if (m is None or m == request.method) and re.search(p, request.path)],
                       default=0.0)

    def received(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests with that method and a path matching the regex (searched)."""
        with self._lock:
            return [
                r for r in self.requests
                if (method is None or r.method == method) and (path is None or re.search(path, r.path))
            ]

    # -- to override --------------------------------------------------------------------------

    def routes(self) -> None:
        """Register the platform's endpoints with `add_route`."""

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        """None when the request may proceed, else the platform's refusal."""
        return None

    def failure_reply(self, kind: str, request: RecordedRequest, failure: Failure) -> Reply:
        return Reply(
            {"rate_limit": 429, "unauthorized": 401, "server_error": 500}[kind],
            {"error": kind},
            {"Retry-After": str(failure.retry_after)} if kind == "rate_limit" else {},
        )

    def not_found(self, request: RecordedRequest) -> Reply:
        return Reply(404, {"error": "not found", "path": request.path})

    # -- dispatch -----------------------------------------------------------------------------

    def _take_failure(self, request: RecordedRequest) -> Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.method and failure.method != request.method:
                    continue
                if failure.path and not re.search(failure.path, request.path):
                    continue
                if failure.after > 0:
                    failure.after -= 1
                    continue
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def dispatch(self, request: RecordedRequest) -> tuple[Reply, float]:
        """The reply to `request` and how long to wait before sending it."""
        with self._lock:
            self.requests.append(request)
        failure = self._take_failure(request)
        if failure is not None and failure.kind == "hang":
            return Reply(504, {"error": "too late"}), self.timeout_delay
        if failure is not None and failure.kind != "timeout":
            return self.failure_reply(failure.kind, request, failure), 0.0
        reply = self._route(request)
        return reply, (self.timeout_delay if failure is not None else self._slowness(request))

    def _route(self, request: RecordedRequest) -> Reply:
        for route in self._routes:
            if route.method != request.method:
                continue
            match = route.pattern.match(request.path)
            if not match:
                continue
            if route.auth:
                refusal = self.authenticate(request)
                if refusal is not None:
                    return refusal
            with self._lock:
                return route.handler(request, **match.groupdict())
        return self.not_found(request)
