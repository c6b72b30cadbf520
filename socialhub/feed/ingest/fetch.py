"""Downloading feeds politely: conditional GET, manual redirects, size and time limits.

One fetch, step by step (`fetch_feed`, and the same in `fetch_feed_async`):

1. GET the URL with `If-None-Match` / `If-Modified-Since` from the last fetch, so an unchanged
   feed costs one small request and comes back as `not_modified=True` (no body, no parsing).
2. Redirects are followed by hand, at most `MAX_REDIRECTS`, each hop recorded. When the hops at
   the start of the chain are permanent (301/308), `permanent_url` is where they lead: the caller
   stores it and asks there next time. A temporary hop (302/303/307) anywhere before stops that:
   the old URL stays the one to ask.
3. The body is read as a stream and abandoned as soon as it passes `max_bytes` (counted after
   decompression, so a gzip bomb is cut off too). `timeout` is one overall deadline for the
   whole fetch (every hop, headers and body): a server that sends its headers one byte at a
   time cannot hold a fetch past it.
4. An HTML page is searched once for `<link rel="alternate">` feed links; the first is fetched
   (without validators) and reported as `discovered_url`.
5. The body is parsed (`parse_feed`) unless `parse=False`.

`FetchResult.next_url` is the URL to store on the source for the next fetch, together with
`etag` and `last_modified`. Every failure is a `FeedError` subclass with a readable message;
`retryable` on it says whether backing off and retrying can help.

`fetch_many` refreshes many feeds at once from asyncio with a global and a per-host limit on
requests in flight (`HostLimiter`), so one big host is never hit by more than `per_host`
requests at a time however many of its feeds are due; `on_result` hears of each feed as soon
as it is done, so a caller can store it without waiting for the slowest one.

Every request goes through SocialHub's egress client (`socialhub.core.egress`): an address on
a private, local or reserved network, reached directly, by a redirect or through a feed link
on a page, is refused before any connection (`FeedRefused`, one message for every case).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import httpx

from socialhub.core import egress

from .discovery import DocumentKind, discover_feeds, sniff
from .errors import (
    FeedConnectionError,
    FeedError,
    FeedHTTPError,
    FeedRefused,
    FeedTimeout,
    FeedTooLarge,
    FeedTooManyRedirects,
    NotAFeed,
)
from .parse import ParsedFeed, parse_feed

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 5_000_000
MAX_REDIRECTS = 5
USER_AGENT = "SocialHub/0.1 (self-hosted feed reader)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml,"
    " application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"
)
PERMANENT_REDIRECTS = frozenset({301, 308})
TEMPORARY_REDIRECTS = frozenset({302, 303, 307})
_REDIRECTS = PERMANENT_REDIRECTS | TEMPORARY_REDIRECTS


@dataclass(frozen=True, slots=True)
class Redirect:
    """One hop of a redirect chain."""

    status: int
    from_url: str
    to_url: str

    @property
    def permanent(self) -> bool:
        return self.status in PERMANENT_REDIRECTS


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch found. `content` is empty and `feed` None when `not_modified`."""

    url: str
    final_url: str
    status: int
    not_modified: bool
    etag: str | None = None
    last_modified: str | None = None
    content: bytes = b""
    content_type: str | None = None
    feed: ParsedFeed | None = None
    redirects: tuple[Redirect, ...] = ()
    permanent_url: str | None = None
    discovered_url: str | None = None
    elapsed_s: float = 0.0
    discovered_permanent_url: str | None = None
    """Where the discovered feed's own permanent redirects lead, if it has any."""

    @property
    def next_url(self) -> str:
        """The URL to fetch next time: the discovered feed, or where the feed moved for good."""
        if self.discovered_url:
            return self.discovered_permanent_url or self.discovered_url
        return self.permanent_url or self.url


class FetchRequest(NamedTuple):
    """A feed to fetch with the validators remembered from its last fetch."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


# --- limits -----------------------------------------------------------------------------------


class HostLimiter:
    """At most `concurrency` requests in flight overall and `per_host` per host (host:port).

    Slots are held for one HTTP request at a time (not across redirects or parsing), and the
    host slot is taken before the global one, so a task waiting for a busy host never holds a
    global slot that another host's request could use.
    """

    def __init__(self, concurrency: int = 50, per_host: int = 4) -> None:
        if concurrency < 1 or per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")
        self.concurrency = concurrency
        self.per_host = per_host
        self._global = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    @staticmethod
    def host_key(url: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        return f"{host}:{port}" if port else host

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        key = self.host_key(url)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = asyncio.Semaphore(self.per_host)
        async with host:
            async with self._global:
                yield


# --- shared steps -----------------------------------------------------------------------------


class _Body(NamedTuple):
    final_url: str
    status: int
    headers: httpx.Headers
    content: bytes
    redirects: tuple[Redirect, ...]


def _request_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        usable = False
    if not usable:
        raise FeedError(
            f"{url!r} is not a web address; feeds are fetched over http or https.", url=url
        )


def _next_hop(response: httpx.Response, url: str, redirects: list[Redirect]) -> str:
    location = response.headers.get("location")
    if not location:
        raise FeedHTTPError(
            response.status_code, url=url,
            message=f"{url} redirects ({response.status_code}) without saying where to.",
        )
    try:
        target = urljoin(url, location.strip())
    except ValueError:
        target = location
    _check_url(target)
    redirects.append(Redirect(response.status_code, url, target))
    visited = {r.from_url for r in redirects}
    if target in visited:
        raise FeedTooManyRedirects(f"{redirects[0].from_url} redirects in a loop.", url=url)
    if len(redirects) > MAX_REDIRECTS:
        raise FeedTooManyRedirects(
            f"{redirects[0].from_url} redirects more than {MAX_REDIRECTS} times.", url=url
        )
    return target


def _raise_for_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if not 200 <= status < 300:
        raise FeedHTTPError(
            status, url=url, retry_after=_retry_after(response.headers.get("retry-after"))
        )


def _check_declared_size(response: httpx.Response, url: str, max_bytes: int) -> None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:  # (compressed size <= decoded size)
        raise FeedTooLarge(max_bytes, url=url)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _Clock:
    """One fetch's overall deadline: `timeout` seconds from its first request, every hop
    (redirects, the feed a page links to) included."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.ends: float | None = None

    def start(self) -> None:
        if self.ends is None:
            self.ends = time.monotonic() + self.timeout

    def remaining(self, url: str) -> float:
        self.start()
        left = self.ends - time.monotonic()
        if left <= 0:
            raise _timeout(url, self.timeout)
        return left


class _Reader:
    """Counts bytes and time while a body streams in."""

    def __init__(self, url: str, max_bytes: int, clock: _Clock) -> None:
        self.url, self.max_bytes, self.clock = url, max_bytes, clock
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise FeedTooLarge(self.max_bytes, url=self.url)
        self.clock.remaining(self.url)  # raises once the fetch is past its deadline
        self.chunks.append(chunk)

    def content(self) -> bytes:
        return b"".join(self.chunks)


def _answered(response: httpx.Response, url: str, redirects: list[Redirect], max_bytes: int,
              clock: _Clock) -> str | _Body | _Reader:
    """What a response's status and headers say: the next hop of a redirect (a URL), "not
    modified" (a `_Body`), or a body to read (a `_Reader`); an error status raises."""
    if response.status_code in _REDIRECTS:
        return _next_hop(response, url, redirects)
    if response.status_code == 304:
        return _Body(url, 304, response.headers, b"", tuple(redirects))
    _raise_for_status(response, url)
    _check_declared_size(response, url, max_bytes)
    return _Reader(url, max_bytes, clock)


def _timeout(url: str, timeout: float) -> FeedTimeout:
    return FeedTimeout(f"{url} did not answer within {timeout:g} seconds.", url=url)


def _translate(exc: httpx.HTTPError, url: str, timeout: float) -> FeedError:
    if egress.is_refusal(exc):
        return FeedRefused(url=url)
    if isinstance(exc, httpx.TimeoutException):
        return _timeout(url, timeout)
    if isinstance(exc, httpx.DecodingError):
        return FeedError(f"{url} sent a compressed body that could not be decoded.", url=url)
    if isinstance(exc, httpx.RemoteProtocolError) and "location header" in str(exc).lower():
        # httpx refuses to build a redirect response whose Location it cannot parse.
        return FeedError(f"{url} redirects to a malformed address ({exc}).", url=url)
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return FeedError(f"{url} is not a web address we can fetch.", url=url)
    return FeedConnectionError(
        f"{url} could not be reached ({type(exc).__name__}: {exc}).", url=url
    )


def _permanent_target(redirects: Iterable[Redirect]) -> str | None:
    target = None
    for hop in redirects:
        if not hop.permanent:
            break
        target = hop.to_url
    return target


def _finish(
    url: str,
    body: _Body,
    *,
    etag: str | None,
    last_modified: str | None,
    parse: bool,
    started: float,
) -> FetchResult | str:
    """A FetchResult, or the feed URL to try when the body is a page that links to one."""
    headers = body.headers
    permanent = _permanent_target(body.redirects)
    if body.status == 304:
        return FetchResult(
            url=url, final_url=body.final_url, status=304, not_modified=True,
            etag=headers.get("etag") or etag,
            last_modified=headers.get("last-modified") or last_modified,
            redirects=body.redirects, permanent_url=permanent,
            elapsed_s=time.monotonic() - started,
        )
    content_type = headers.get("content-type")
    kind, description = sniff(body.content, content_type)
    if kind is DocumentKind.HTML:
        found = discover_feeds(body.content, body.final_url)
        if not found:
            raise NotAFeed(
                f"{body.final_url} is a web page without a feed link. Ask the site for its "
                "RSS, Atom or JSON Feed address.",
                url=url,
            )
        return found[0]
    if kind in (DocumentKind.BINARY, DocumentKind.UNKNOWN):
        raise NotAFeed(f"{body.final_url} is {description}, not a feed.", url=url)
    feed = (
        parse_feed(body.content, content_type=content_type, url=body.final_url) if parse else None
    )
    return _result(url, body, feed, started)


def _result(url: str, body: _Body, feed: ParsedFeed | None, started: float) -> FetchResult:
    return FetchResult(
        url=url, final_url=body.final_url, status=body.status, not_modified=False,
        etag=body.headers.get("etag"), last_modified=body.headers.get("last-modified"),
        content=body.content, content_type=body.headers.get("content-type"), feed=feed,
        redirects=body.redirects, permanent_url=_permanent_target(body.redirects),
        elapsed_s=time.monotonic() - started,
    )


def _with_discovery(original: str, page_body: _Body, feed_result: FetchResult,
                    discovered: str) -> FetchResult:
    return replace(
        feed_result,
        url=original,
        redirects=page_body.redirects + feed_result.redirects,
        permanent_url=_permanent_target(page_body.redirects),
        discovered_url=discovered,
        discovered_permanent_url=feed_result.permanent_url,
    )


def _discovered_page_error(page_url: str, discovered: str, exc: NotAFeed) -> NotAFeed:
    return NotAFeed(
        f"{page_url} links to {discovered} as its feed, but that is not a feed either: {exc}",
        url=page_url,
    )


# --- synchronous ------------------------------------------------------------------------------


def fetch_feed(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    parse: bool = True,
) -> FetchResult:
    """Fetch (and parse) one feed; see the module docstring for the steps. Raises FeedError."""
    _check_url(url)
    started = time.monotonic()
    if client is None:
        with egress.client(timeout=timeout, total_seconds=timeout) as own_client:
            return _fetch_sync(own_client, url, etag, last_modified, timeout, max_bytes, parse,
                               started)
    return _fetch_sync(client, url, etag, last_modified, timeout, max_bytes, parse, started)


def _fetch_sync(client: httpx.Client, url: str, etag: str | None, last_modified: str | None,
                timeout: float, max_bytes: int, parse: bool, started: float) -> FetchResult:
    clock = _Clock(timeout)
    body = _get_sync(client, url, _request_headers(etag, last_modified), clock, max_bytes)
    outcome = _finish(url, body, etag=etag, last_modified=last_modified, parse=parse,
                      started=started)
    if isinstance(outcome, FetchResult):
        return outcome
    feed_body = _get_sync(client, outcome, _request_headers(None, None), clock, max_bytes)
    try:
        found = _finish(outcome, feed_body, etag=None, last_modified=None, parse=parse,
                        started=started)
    except NotAFeed as exc:
        raise _discovered_page_error(body.final_url, outcome, exc) from exc
    if not isinstance(found, FetchResult):
        raise NotAFeed(f"{body.final_url} links to {outcome} as its feed, but that is a web "
                       "page too.", url=url)
    return _with_discovery(url, body, found, outcome)


def _get_sync(client: httpx.Client, url: str, headers: dict[str, str], clock: _Clock,
              max_bytes: int) -> _Body:
    redirects: list[Redirect] = []
    current = url
    while True:
        left = clock.remaining(current)
        if isinstance(client, egress.Client):  # the egress deadline: what is left of the fetch's
            client.total_seconds = left
        try:
            with client.stream("GET", current, headers=headers, timeout=left,
                               follow_redirects=False) as response:
                step = _answered(response, current, redirects, max_bytes, clock)
                if isinstance(step, str):
                    current = step
                    continue
                if isinstance(step, _Body):
                    return step
                reader = step
                for chunk in response.iter_bytes():
                    reader.add(chunk)
                return _Body(current, response.status_code, response.headers, reader.content(),
                             tuple(redirects))
        except httpx.HTTPError as exc:
            raise _translate(exc, current, clock.timeout) from exc


# --- asynchronous -----------------------------------------------------------------------------


async def fetch_feed_async(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.AsyncClient | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    parse: bool = True,
    limiter: HostLimiter | None = None,
) -> FetchResult:
    """`fetch_feed` for asyncio; parsing runs in a worker thread so the loop keeps serving I/O."""
    _check_url(url)
    started = time.monotonic()
    if client is None:
        async with egress.async_client(timeout=timeout, total_seconds=timeout) as own_client:
            return await _fetch_async(own_client, url, etag, last_modified, timeout, max_bytes,
                                      parse, limiter, started)
    return await _fetch_async(client, url, etag, last_modified, timeout, max_bytes, parse,
                              limiter, started)


async def _fetch_async(client: httpx.AsyncClient, url: str, etag: str | None,
                       last_modified: str | None, timeout: float, max_bytes: int, parse: bool,
                       limiter: HostLimiter | None, started: float) -> FetchResult:
    clock = _Clock(timeout)
    body = await _get_async(client, url, _request_headers(etag, last_modified), clock,
                            max_bytes, limiter)
    outcome = await _finish_async(url, body, etag=etag, last_modified=last_modified,
                                  parse=parse, started=started)
    if isinstance(outcome, FetchResult):
        return outcome
    feed_body = await _get_async(client, outcome, _request_headers(None, None), clock,
                                 max_bytes, limiter)
    try:
        found = await _finish_async(outcome, feed_body, etag=None, last_modified=None,
                                    parse=parse, started=started)
    except NotAFeed as exc:
        raise _discovered_page_error(body.final_url, outcome, exc) from exc
    if not isinstance(found, FetchResult):
        raise NotAFeed(f"{body.final_url} links to {outcome} as its feed, but that is a web "
                       "page too.", url=url)
    return _with_discovery(url, body, found, outcome)


async def _finish_async(url: str, body: _Body, *, etag: str | None, last_modified: str | None,
                        parse: bool, started: float) -> FetchResult | str:
    outcome = _finish(url, body, etag=etag, last_modified=last_modified, parse=False,
                      started=started)
    if not parse or not isinstance(outcome, FetchResult) or outcome.not_modified:
        return outcome
    loop = asyncio.get_running_loop()
    feed = await loop.run_in_executor(
        None, lambda: parse_feed(body.content, content_type=outcome.content_type,
                                 url=body.final_url)
    )
    return replace(outcome, feed=feed, elapsed_s=time.monotonic() - started)


async def _get_async(client: httpx.AsyncClient, url: str, headers: dict[str, str],
                     clock: _Clock, max_bytes: int, limiter: HostLimiter | None) -> _Body:
    redirects: list[Redirect] = []
    current = url
    while True:
        # The deadline starts once a slot is ours: waiting for a busy host is not the feed's fault.
        async with _maybe_slot(limiter, current):
            try:
                # Everything from the request to the last byte of the body, headers included.
                async with asyncio.timeout(clock.remaining(current)):
                    async with client.stream("GET", current, headers=headers, timeout=clock.timeout,
                                             follow_redirects=False) as response:
                        step = _answered(response, current, redirects, max_bytes, clock)
                        if isinstance(step, str):
                            current = step
                            continue
                        if isinstance(step, _Body):
                            return step
                        reader = step
                        async for chunk in response.aiter_bytes():
                            reader.add(chunk)
                        return _Body(current, response.status_code, response.headers,
                                     reader.content(), tuple(redirects))
            except TimeoutError as exc:
                raise _timeout(current, clock.timeout) from exc
            except httpx.HTTPError as exc:
                raise _translate(exc, current, clock.timeout) from exc


@asynccontextmanager
async def _maybe_slot(limiter: HostLimiter | None, url: str) -> AsyncIterator[None]:
    if limiter is None:
        yield
    else:
        async with limiter.slot(url):
            yield


async def fetch_many(
    requests: Iterable[FetchRequest | tuple[str, str | None, str | None] | str],
    *,
    concurrency: int = 50,
    per_host: int = 4,
    client: httpx.AsyncClient | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    parse: bool = True,
    on_result: Callable[[int, FetchResult | FeedError], Awaitable[None] | None] | None = None,
) -> list[FetchResult | FeedError]:
    """Fetch many feeds concurrently; one FetchResult or FeedError per request, in order.

    Each request is a `FetchRequest` (or a `(url, etag, last_modified)` tuple, or a bare URL).
    A feed's failure is returned in its place, not raised, so one broken feed never stops the
    rest; anything that is not a FeedError (a bug) is raised. `timeout` bounds each feed's
    fetch as a whole. `on_result(index, outcome)` (a function or a coroutine function) is
    called as each feed finishes, so the caller can use it without waiting for the others.
    """
    normalized = [_as_request(item) for item in requests]
    limiter = HostLimiter(concurrency=concurrency, per_host=per_host)

    async def one(index: int, request: FetchRequest,
                  shared: httpx.AsyncClient) -> FetchResult | FeedError:
        try:
            outcome: FetchResult | FeedError = await fetch_feed_async(
                request.url, etag=request.etag, last_modified=request.last_modified,
                client=shared, timeout=timeout, max_bytes=max_bytes, parse=parse,
                limiter=limiter,
            )
        except FeedError as exc:
            outcome = exc
        if on_result is not None:
            heard = on_result(index, outcome)
            if inspect.isawaitable(heard):
                await heard
        return outcome

    async def run(shared: httpx.AsyncClient) -> list[FetchResult | FeedError]:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(n, request, shared))
                     for n, request in enumerate(normalized)]
        return [task.result() for task in tasks]

    if client is not None:
        return await run(client)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with egress.async_client(timeout=timeout, limits=limits,
                                   total_seconds=timeout) as own_client:
        return await run(own_client)


def _as_request(item: FetchRequest | tuple[str, str | None, str | None] | str) -> FetchRequest:
    if isinstance(item, FetchRequest):
        return item
    if isinstance(item, str):
        return FetchRequest(item)
    return FetchRequest(*item)
