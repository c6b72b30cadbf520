"""The first-use list of suggested sources is well-formed data."""

from __future__ import annotations

from socialhub.feed.ingest import normalize_url, SUGGESTED_SOURCES


def test_suggested_sources_are_unique_https_feeds_in_known_categories():
    assert len(SUGGESTED_SOURCES) >= 15
    urls = [source.feed_url for source in SUGGESTED_SOURCES]
    assert all(url.startswith("https://") for url in urls)
    assert len({normalize_url(url) for url in urls}) == len(urls)
    assert len({source.name for source in SUGGESTED_SOURCES}) == len(SUGGESTED_SOURCES)
    assert {source.category for source in SUGGESTED_SOURCES} == {"Tech", "News", "Creators"}
