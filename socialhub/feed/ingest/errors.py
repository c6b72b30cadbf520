"""Typed errors of the feed integration.

Every error this package raises is a `FeedError`. Its `str()` is a sentence a person can read on
the source's page ("The server answered 404 Not Found for https://…"); `retryable` tells the
scheduler whether backing off and trying again can help (a timeout can, a binary file cannot).
"""

from __future__ import annotations

from http import HTTPStatus


class FeedError(Exception):
    """Anything that went wrong fetching or reading a feed or an OPML file."""

    retryable: bool = False

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class FeedHTTPError(FeedError):
    """The server answered with an error status (4xx/5xx) or a redirect we could not follow."""

    def __init__(
        self, status: int, *, url: str | None = None, retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message or _status_message(status, url), url=url)

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.status in (408, 425, 429) or self.status >= 500

    @property
    def gone(self) -> bool:
        """410 Gone: the publisher says the feed will not come back."""
        return self.status == 410


class FeedTooManyRedirects(FeedError):
    """More redirects than allowed, or a redirect loop."""


class FeedRefused(FeedError):
    """The address (or a redirect, or a feed link found on a page) is on a private, local or
    reserved network. The message is the same whatever the address and port, so it tells
    nothing about what listens there."""

    MESSAGE = "SocialHub does not fetch addresses on private or local networks."

    def __init__(self, *, url: str | None = None) -> None:
        super().__init__(self.MESSAGE, url=url)


class FeedConnectionError(FeedError):
    """The server could not be reached (DNS failure, refused or reset connection, TLS error)."""

    retryable = True


class FeedTimeout(FeedError):
    """The server did not answer, or did not finish sending, within the time allowed."""

    retryable = True


class FeedTooLarge(FeedError):
    """The response is larger than the size limit (checked on the decoded bytes while reading)."""

    def __init__(self, limit: int, *, url: str | None = None) -> None:
        self.limit = limit
        where = f" at {url}" if url else ""
        super().__init__(f"The feed{where} is larger than the {_human_size(limit)} limit.", url=url)


class NotAFeed(FeedError):
    """The document is not a feed: a web page without a feed link, a binary file, other JSON."""


class FeedParseError(FeedError):
    """The document claims to be a feed but is too broken to recover any of it."""


class OpmlError(FeedError):
    """An OPML file that is not well-formed, not OPML, or tries an XML entity attack."""


def _status_message(status: int, url: str | None) -> str:
    try:
        phrase = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        phrase = str(status)
    where = f" for {url}" if url else ""
    if status == 404:
        hint = " Check the address: the feed may have moved."
    elif status == 410:
        hint = " The publisher removed this feed."
    elif status in (401, 403):
        hint = " The feed is private or blocks automated readers."
    elif status == 429:
        hint = " The server asks us to slow down; we will try again later."
    elif status >= 500:
        hint = " The problem is on the publisher's side; we will try again later."
    else:
        hint = ""
    return f"The server answered {phrase}{where}.{hint}"


def _human_size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.0f} kB"
    return f"{n} bytes"
