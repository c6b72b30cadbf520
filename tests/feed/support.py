"""Shared fixtures and feed documents for the Feed tests (this module holds no tests itself).

Feeds are real-world shaped documents served over real HTTP by `tests.fakes.feeds.FeedServer`;
stories are dated relative to now so scoring and digests see them as recent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest

from socialhub.core.db import session_scope
from socialhub.identity.models import User
from socialhub.identity import users
from tests.fakes.feeds import FeedServer

PASSWORD = "correct horse battery"

STORIES = [
    ("Rust 1.80 makes incremental builds faster",
     "The Rust team released version 1.80 on Thursday. Incremental builds are much faster for large "
     "workspaces. Cargo gained a lint table so teams can share settings. The next release will focus on "
     "async closures. Developers welcomed the change after years of slow builds."),
    ("PostgreSQL 17 adds incremental backups",
     "PostgreSQL 17 is out with incremental backups built in. Vacuum uses far less memory than before. "
     "JSON support grows with the JSON_TABLE function. Logical replication survives upgrades. "
     "Administrators can now restore large databases in minutes."),
    ("City council approves new bike lanes",
     "The city council voted to build forty kilometres of protected bike lanes. Construction starts in "
     "spring. Shop owners worry about parking. Cyclists say the lanes will save lives. "
     "The plan costs twelve million euros over three years."),
    ("Heatwave breaks records across Europe",
     "Temperatures passed forty degrees in several countries this week. Hospitals report more patients "
     "with heat stroke. Farmers fear for the harvest. Scientists link the heat to climate change. "
     "Cities opened cooling centres for older residents."),
    ("New telescope images show distant galaxies",
     "The new space telescope sent its first images of galaxies formed soon after the big bang. "
     "Astronomers were surprised by how bright they are. The data will keep researchers busy for years. "
     "More images are expected next month."),
]


def sign_up(name: str, *, timezone: str = "UTC") -> User:
    """A reader with a verified address (no verification e-mail: the tests count the digest's)."""
    with session_scope() as session:
        return users.sign_up(session, name=name, email=f"{name.lower()}@example.com", password=PASSWORD,
                             timezone=timezone, verified=True)


@pytest.fixture
def ada(database_url) -> User:
    return sign_up("Ada")


@pytest.fixture
def bob(database_url) -> User:
    return sign_up("Bob")


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def recent(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def rss(items: list[tuple[str, str, str]] | None = None, *, title: str = "Example News",
        site: str = "https://news.example", start_hours: float = 1.0, extra: str = "") -> bytes:
    """RSS 2.0; items are (title, link, description), dated an hour apart from `start_hours` ago."""
    if items is None:
        items = [(t, f"{site}/{n}", body) for n, (t, body) in enumerate(STORIES)]
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<pubDate>{format_datetime(recent(start_hours + n))}</pubDate>"
        f"<category>news</category><description>{escape(body)}</description>{extra}</item>"
        for n, (t, link, body) in enumerate(items))
    return (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>{escape(title)}</title>"
            f"<link>{site}</link><description>Test feed</description>{entries}</channel></rss>").encode()


def atom(*, title: str = "Atom Example", site: str = "https://atom.example") -> bytes:
    entries = "".join(
        f"<entry><title>{escape(t)}</title><link rel=\"alternate\" href=\"{site}/{n}\"/><id>tag:atom.example,{n}</id>"
        f"<updated>{recent(n + 1).isoformat()}</updated><author><name>Writer {n}</name></author>"
        f"<content type=\"html\">{escape('<p>' + body + '</p>')}</content></entry>"
        for n, (t, body) in enumerate(STORIES[:3]))
    return (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">"
            f"<title>{escape(title)}</title><link href=\"{site}/\"/><id>urn:atom-example</id>"
            f"<updated>{recent(0).isoformat()}</updated>{entries}</feed>").encode()


def json_feed(*, title: str = "JSON Example", site: str = "https://json.example") -> bytes:
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": title, "home_page_url": site,
        "items": [{"id": str(n), "url": f"{site}/{n}", "title": t, "content_text": body,
                   "date_published": recent(n + 1).isoformat(), "tags": ["science"]}
                  for n, (t, body) in enumerate(STORIES[:3])],
    }).encode()


def rss1(*, site: str = "https://rdf.example") -> bytes:
    items = "".join(
        f"<item rdf:about=\"{site}/{n}\"><title>{escape(t)}</title><link>{site}/{n}</link>"
        f"<description>{escape(body)}</description><dc:date>{recent(n + 1).isoformat()}</dc:date></item>"
        for n, (t, body) in enumerate(STORIES[:3]))
    return (f"<?xml version=\"1.0\"?><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
            f"xmlns=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
            f"<channel rdf:about=\"{site}/rss\"><title>RDF Example</title><link>{site}</link>"
            f"<description>RSS 1.0</description></channel>{items}</rdf:RDF>").encode()


def rss091(*, site: str = "https://old.example") -> bytes:
    items = "".join(f"<item><title>{escape(t)}</title><link>{site}/{n}</link><description>{escape(body)}</description></item>"
                    for n, (t, body) in enumerate(STORIES[:3]))
    return (f"<?xml version=\"1.0\"?><rss version=\"0.91\"><channel><title>Old Example</title><link>{site}</link>"
            f"<description>RSS 0.91</description><language>en</language>{items}</channel></rss>").encode()
