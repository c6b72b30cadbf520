"""The HTTP client the publisher hands to platform adapters.

An `httpx.Client` (the adapters' contract) with two differences:

- No cookie jar. Platform APIs authenticate with tokens; a jar shared by every account would
  carry cookies one account's responses set into another account's requests.
- A fast path for the plain requests publishing makes (a JSON, form or bytes body, bearer
  headers, no files, no auth helper): sent with the standard library's `http.client` on a
  kept-alive connection per thread and origin, and returned as an ordinary `httpx.Response`.
  httpx spends about 0.3 ms of CPU per request on its own machinery, as much as everything
  else the publisher does per post; this is what lets one process publish thousands a second.
  Anything else (multipart uploads, basic auth, cookies, redirects) goes through httpx itself.

The fast path raises the same httpx exceptions httpx would, phase by phase, because the
adapters' error mapping depends on them (`integrations/platforms/http.py`): a failure to
connect is `ConnectError`/`ConnectTimeout` (nothing was sent), a failure after the request
started is `WriteError`/`WriteTimeout`/`ReadTimeout`/`RemoteProtocolError` (the outcome is
unknown for a POST). A kept-alive connection the server has closed is noticed before it is
reused (its socket turns readable) and replaced, as httpcore does.
"""

from __future__ import annotations

import http.client
import json as json_module
import select
import ssl
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from httpx._client import USE_CLIENT_DEFAULT

USER_AGENT = "SocialHub (+https://github.com/socialhub; httpx compatible)"


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def _primitive(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def _encode_pairs(values: Any) -> str | None:
    """httpx's encoding of `params`/`data` mappings, or None when they are not a plain mapping."""
    if not isinstance(values, dict):
        return None
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if not isinstance(item, (str, int, float, bool)) and item is not None:
                return None
            pairs.append((str(key), _primitive(item)))
    return urlencode(pairs)


class _LazyRequest:
    def __init__(self, method: str, url: str) -> None:
        self.method, self.url = method, url

    def get(self) -> httpx.Request:
        return httpx.Request(self.method, self.url)


class PlatformHttpClient(httpx.Client):
    """See the module docstring. Thread-safe: fast-path connections are kept per thread."""

    def __init__(self, *, fast: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fast = fast
        self._local = threading.local()
        self._pools: list[dict] = []
        self._pools_lock = threading.Lock()
        self._verify = kwargs.get("verify", True)
        self._ssl_context: ssl.SSLContext | None = None

    @property
    def cookies(self) -> httpx.Cookies:
        return _NoCookies()

    @cookies.setter
    def cookies(self, value) -> None:
        return None

    # -- the fast path ------------------------------------------------------------------------

    def request(self, method: str, url: httpx.URL | str, *, content=None, data=None, files=None, json=None,
                params=None, headers=None, cookies=None, auth=USE_CLIENT_DEFAULT, follow_redirects=USE_CLIENT_DEFAULT,
                timeout=USE_CLIENT_DEFAULT, extensions=None) -> httpx.Response:
        prepared = self._prepare(method, url, content, data, files, json, params, headers, cookies, auth,
                                 follow_redirects, timeout, extensions)
        if prepared is None:
            return super().request(method, url, content=content, data=data, files=files, json=json, params=params,
                                   headers=headers, cookies=cookies, auth=auth, follow_redirects=follow_redirects,
                                   timeout=timeout, extensions=extensions)
        return self._send_fast(*prepared)

    def _prepare(self, method, url, content, data, files, json, params, headers, cookies, auth, follow_redirects,
                 timeout, extensions):
        """(method, scheme, host, port, target, headers, body, full url) or None to use httpx."""
        if (not self._fast or files is not None or cookies is not None or extensions
                or auth not in (USE_CLIENT_DEFAULT, None) or self.auth is not None
                or follow_redirects not in (USE_CLIENT_DEFAULT, False) or timeout is not USE_CLIENT_DEFAULT
                or not isinstance(url, str) or self.base_url.raw_path not in (b"", b"/") or self.params):
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.fragment:
            return None
        body: bytes | None = None
        extra: dict[str, str] = {}
        if json is not None:
            if content is not None or data is not None:
                return None
            body = json_module.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
            extra["content-type"] = "application/json"
        elif data is not None:
            if content is not None:
                return None
            encoded = _encode_pairs(data)
            if encoded is None:
                return None
            body = encoded.encode("ascii")
            extra["content-type"] = "application/x-www-form-urlencoded"
        elif content is not None:
            if isinstance(content, str):
                body = content.encode("utf-8")
            elif isinstance(content, (bytes, bytearray)):
                body = bytes(content)
            else:
                return None  # streams and iterators: httpx
        target = parts.path or "/"
        query = parts.query
        if params:
            encoded = _encode_pairs(params)
            if encoded is None:
                return None
            query = f"{query}&{encoded}" if query else encoded
        if query:
            target = f"{target}?{query}"
        merged = {k.lower(): v for k, v in self.headers.items()}
        merged["user-agent"] = USER_AGENT
        merged.update(extra)
        for key, value in (headers or {}).items():
            merged[key.lower()] = value
        if body is not None or method.upper() in ("POST", "PUT", "PATCH"):
            merged["content-length"] = str(len(body or b""))
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return method.upper(), parts.scheme, parts.hostname, port, target, merged, body, url

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            verify = self._verify
            self._ssl_context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        return self._ssl_context

    def _connection(self, scheme: str, host: str, port: int) -> tuple[http.client.HTTPConnection, bool]:
        """A kept-alive connection for this thread and origin (and whether it is new)."""
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
            with self._pools_lock:
                self._pools.append(pool)
        key = (scheme, host, port)
        conn = pool.get(key)
        if conn is not None and conn.sock is not None:
            try:
                readable = select.select([conn.sock], [], [], 0)[0]
            except (OSError, ValueError):
                readable = [True]
            if not readable:
                return conn, False
            conn.close()  # the server closed it (or sent something unasked): never reuse
        timeout = self.timeout.connect
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        pool[key] = conn
        return conn, True

    def _drop(self, scheme: str, host: str, port: int) -> None:
        pool = getattr(self._local, "pool", {})
        conn = pool.pop((scheme, host, port), None)
        if conn is not None:
            conn.close()

    def _send_fast(self, method, scheme, host, port, target, headers, body, url) -> httpx.Response:
        # An httpx.Request is built only for errors (parsing the URL again costs as much as the
        # rest of a request); adapters read status, headers and body, never `response.request`.
        request = _LazyRequest(method, url)
        conn, fresh = self._connection(scheme, host, port)
        try:
            if fresh:
                try:
                    conn.connect()
                except TimeoutError as exc:
                    raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request.get()) from exc
                except (OSError, ssl.SSLError) as exc:
                    raise httpx.ConnectError(str(exc), request=request.get()) from exc
            conn.sock.settimeout(self.timeout.write)
            try:
                conn.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
                for name, value in headers.items():
                    conn.putheader(name, value)
                conn.endheaders(body)
            except TimeoutError as exc:
                raise httpx.WriteTimeout(str(exc) or "write timed out", request=request.get()) from exc
            except (OSError, http.client.HTTPException) as exc:
                raise httpx.WriteError(str(exc), request=request.get()) from exc
            conn.sock.settimeout(self.timeout.read)
            try:
                answer = conn.getresponse()
                payload = answer.read()
            except TimeoutError as exc:
                raise httpx.ReadTimeout(str(exc) or "read timed out", request=request.get()) from exc
            except (http.client.RemoteDisconnected, http.client.BadStatusLine, http.client.IncompleteRead,
                    ConnectionResetError, BrokenPipeError) as exc:
                raise httpx.RemoteProtocolError(str(exc) or "server disconnected", request=request.get()) from exc
            except (OSError, http.client.HTTPException) as exc:
                raise httpx.ReadError(str(exc), request=request.get()) from exc
        except httpx.HTTPError:
            self._drop(scheme, host, port)
            raise
        if answer.will_close:
            self._drop(scheme, host, port)
        return httpx.Response(answer.status, headers=answer.getheaders(), content=payload)

    def close(self) -> None:
        with self._pools_lock:
            for pool in self._pools:
                for conn in list(pool.values()):
                    conn.close()
                pool.clear()
        super().close()

