"""The one way SocialHub talks to the outside world: every outgoing HTTP request uses a client
made here (`client()` / `async_client()`), so no user can make the server fetch its own network.

What it guarantees, for every request and every redirect hop, sync and async:
- **Only global addresses.** The host name is resolved here, every address that is not global
  is refused (loopback, private, link-local such as 169.254.169.254, 100.64/10, fc00::/7,
  0.0.0.0, IPv4-mapped IPv6 of those, and any spelling of them: decimal, octal, hex), and the
  connection goes to the address that was checked, so DNS rebinding cannot swap it afterwards.
  The check sits in the connection layer (an httpcore network backend), so redirects and
  reconnects of kept-alive pools are checked like the first request.
- **One message for every refusal** (`REFUSED`), and no connection is ever attempted to a
  refused address: the error text cannot be used to scan ports.
- **One overall deadline per request**, from connect to the last byte (`total_seconds`): a server
  that sends its headers one byte at a time cannot hold a request past it, whatever the per-read
  timeout. Streaming callers (`client.stream(...)`) read the body under the same deadline.

Private and loopback targets are allowed only by `SOCIALHUB_ALLOW_PRIVATE_NETWORKS`: `1` allows
all of them (tests and benchmarks set it: their servers run on 127.0.0.1), or a comma-separated
list of networks such as `10.0.0.0/8,127.0.0.1/32` allows just those.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import anyio
import httpcore
import httpcore2
import httpx
import httpx2

REFUSED = "SocialHub does not connect to private, local or reserved network addresses."
DEFAULT_TOTAL_SECONDS = 60.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_deadline: ContextVar[float | None] = ContextVar("egress_deadline", default=None)


def is_refusal(exc: BaseException) -> bool:
    """True when an HTTP error is the egress guard's refusal."""
    return type(exc).__name__ == "ConnectError" and str(exc) == REFUSED


# ---- which addresses --------------------------------------------------------------------------

def _allowed_private() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | bool:
    raw = os.environ.get("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", "").strip()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes", "all"):
        return True
    networks = []
    for part in raw.split(","):
        with contextlib.suppress(ValueError):
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
    return networks


def address_allowed(ip: IPAddress) -> bool:
    """May SocialHub connect to this address? Global unicast only, unless configured."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        ip = ip.sixtofour
    if ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified):
        return True
    allowed = _allowed_private()
    if allowed is True:
        return True
    return bool(allowed) and any(ip in network for network in allowed)


def _pick(infos: list[tuple[Any, ...]], refused: type[Exception]) -> str:
    """The first allowed address of a resolution, or a refusal if there is none."""
    for info in infos:
        address = info[4][0]
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            continue
        if address_allowed(ip):
            return str(ip)
    raise refused(REFUSED)


# ---- the deadline -----------------------------------------------------------------------------

@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound every read, write and connect inside the block by one overall deadline."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _bounded(timeout: float | None, exc: type[Exception]) -> float | None:
    end = _deadline.get()
    if end is None:
        return timeout
    remaining = end - time.monotonic()
    if remaining <= 0:
        raise exc("The request took longer than its overall time limit.")
    return remaining if timeout is None else min(timeout, remaining)


# ---- the connection layer and the clients, for httpx and for httpx2 ----------------------------
# The OpenAI and Anthropic SDKs use httpx2 (a fork with the same API); everything else httpx.
# The same guard is built over each pair of (httpx, httpcore) modules.

def _build(hx: Any, hc: Any) -> tuple[type, type]:
    class Stream(hc.NetworkStream):
        def __init__(self, inner) -> None:
            self._inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self._inner.read(max_bytes, _bounded(timeout, hc.ReadTimeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, _bounded(timeout, hc.WriteTimeout))

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
            return Stream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout, hc.ConnectTimeout)))

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class AsyncStream(hc.AsyncNetworkStream):
        def __init__(self, inner) -> None:
            self._inner = inner

        async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return await self._inner.read(max_bytes, _bounded(timeout, hc.ReadTimeout))

        async def write(self, buffer: bytes, timeout: float | None = None) -> None:
            await self._inner.write(buffer, _bounded(timeout, hc.WriteTimeout))

        async def aclose(self) -> None:
            await self._inner.aclose()

        async def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
            return AsyncStream(await self._inner.start_tls(ssl_context, server_hostname,
                                                           _bounded(timeout, hc.ConnectTimeout)))

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class Backend(hc.NetworkBackend):
        """Resolves, checks, and connects to the checked address (TLS still verifies the name)."""

        def __init__(self) -> None:
            self._inner = hc.SyncBackend()

        def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                        socket_options=None):
            timeout = _bounded(timeout, hc.ConnectTimeout)
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise hc.ConnectError(f"The name {host[:100]} could not be resolved.") from exc
            return Stream(self._inner.connect_tcp(_pick(infos, hc.ConnectError), port, timeout, local_address,
                                                  socket_options))

        def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
            raise hc.ConnectError(REFUSED)

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    class AsyncBackend(hc.AsyncNetworkBackend):
        def __init__(self) -> None:
            self._inner = hc.AnyIOBackend()

        async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                              local_address: str | None = None, socket_options=None):
            timeout = _bounded(timeout, hc.ConnectTimeout)
            try:
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise hc.ConnectError(f"The name {host[:100]} could not be resolved.") from exc
            stream = await self._inner.connect_tcp(_pick(list(infos), hc.ConnectError), port, timeout,
                                                   local_address, socket_options)
            return AsyncStream(stream)

        async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
            raise hc.ConnectError(REFUSED)

        async def sleep(self, seconds: float) -> None:
            await self._inner.sleep(seconds)

    default_limits = hx.Limits(max_connections=100, max_keepalive_connections=20)

    class Client(hx.Client):
        """A client whose every request is checked and bounded by `total_seconds`."""

        def __init__(self, *, total_seconds: float = DEFAULT_TOTAL_SECONDS, limits: Any = None, **kwargs: Any) -> None:
            transport = hx.HTTPTransport(limits=limits or default_limits)
            transport._pool._network_backend = Backend()  # no proxy: the pool connects itself
            super().__init__(transport=transport, trust_env=False, **kwargs)
            self.total_seconds = total_seconds

        def send(self, request, *, stream: bool = False, **kwargs: Any):
            token = _deadline.set(time.monotonic() + self.total_seconds)
            try:
                return super().send(request, stream=stream, **kwargs)
            finally:
                if not stream:  # a streamed body is read later, under the same deadline
                    _deadline.reset(token)

    class AsyncClient(hx.AsyncClient):
        def __init__(self, *, total_seconds: float = DEFAULT_TOTAL_SECONDS, limits: Any = None, **kwargs: Any) -> None:
            transport = hx.AsyncHTTPTransport(limits=limits or default_limits)
            transport._pool._network_backend = AsyncBackend()
            super().__init__(transport=transport, trust_env=False, **kwargs)
            self.total_seconds = total_seconds

        async def send(self, request, *, stream: bool = False, **kwargs: Any):
            token = _deadline.set(time.monotonic() + self.total_seconds)
            try:
                return await super().send(request, stream=stream, **kwargs)
            finally:
                if not stream:
                    _deadline.reset(token)

    return Client, AsyncClient


Client, AsyncClient = _build(httpx, httpcore)
SdkClient, _ = _build(httpx2, httpcore2)


def client(**kwargs: Any) -> httpx.Client:
    """A new guarded client (httpx keyword arguments: timeout, headers, follow_redirects…)."""
    return Client(**kwargs)


def async_client(**kwargs: Any) -> httpx.AsyncClient:
    """A new guarded async client."""
    return AsyncClient(**kwargs)


def sdk_client(**kwargs: Any) -> httpx2.Client:
    """A guarded httpx2 client for the OpenAI and Anthropic SDKs (`http_client=`)."""
    return SdkClient(**kwargs)
