"""Counting text the way each platform does."""

from __future__ import annotations

import pytest
import regex

from socialhub.channels.adapters import text as text_module
from socialhub.channels.adapters.bluesky import BlueskyAdapter
from socialhub.channels.adapters.mastodon import MastodonAdapter
from socialhub.channels.adapters.text import (
    count_bluesky,
    count_graphemes,
    count_mastodon,
    count_x,
    find_urls,
)
from socialhub.channels.adapters.types import PublishRequest
from socialhub.channels.adapters.x import XAdapter

FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"  # man, woman, girl, boy joined by ZWJ
FLAG = "\U0001F1E9\U0001F1EA"  # DE
THUMB_MEDIUM = "\U0001F44D\U0001F3FD"
KEYCAP = "1\uFE0F\u20E3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        (FAMILY, 1),
        (FLAG + FLAG, 2),
        (THUMB_MEDIUM, 1),
        (KEYCAP, 1),
        ("e\u0301", 1),
        ("한국어", 3),
        ("\r\n", 1),
        ("नमस्ते", 3),
    ],
)
def test_bluesky_counts_graphemes(text, expected):
    assert count_bluesky(text) == expected
    assert BlueskyAdapter().count_text(text) == expected


@pytest.mark.parametrize("text", [FAMILY, FLAG * 3, THUMB_MEDIUM, KEYCAP, "e\u0301\u0302x", "한국어", "\r\n\n", "a\u200db",
                                  "Grüße 👋🏾 🇫🇷!", "क्षि", "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"])
def test_one_grapheme_implementation_the_unicode_rules_of_regex(text):
    assert text_module.graphemes(text) == regex.findall(r"\X", text)
    assert not any(name.startswith("_approximate") or name == "_regex" for name in vars(text_module)), \
        "no second, approximate grapheme splitter"


def test_x_counts_any_url_as_23():
    short = "see https://x.co"
    long = "see https://example.com/" + "a" * 100
    assert count_x(short) == 4 + 23
    assert count_x(long) == 4 + 23
    assert count_x("visit example.com today") == len("visit ") + 23 + len(" today")


def test_x_weighs_cjk_and_emoji_as_two():
    assert count_x("日本語") == 6
    assert count_x("hello") == 5
    assert count_x("😀") == 2
    assert count_x(FAMILY) == 2
    assert count_x(FLAG) == 2
    assert count_x("café") == 4
    assert count_x("“quotes” – dash") == 15  # general punctuation in the light ranges


def test_x_limit_is_280_weighted():
    adapter = XAdapter()
    assert adapter.validate(PublishRequest(text="a" * 280, idempotency_key="k")) == []
    assert adapter.validate(PublishRequest(text="日" * 140, idempotency_key="k")) == []
    problems = adapter.validate(PublishRequest(text="日" * 141, idempotency_key="k"))
    assert problems == ["text is 282 characters; X allows 280"]


def test_mastodon_counts_urls_as_23_and_remote_mentions_by_username():
    assert count_mastodon("read https://example.com/" + "p" * 80) == 5 + 23
    assert count_mastodon("hi @alice@mastodon.example") == len("hi @alice")
    assert count_mastodon(FAMILY + " ok") == 4
    assert count_mastodon("example.com is not a link here") == len("example.com is not a link here")


def test_mastodon_default_limit_is_500_and_follows_the_instance():
    default = MastodonAdapter(base_url="https://mastodon.example")
    assert default.max_text_length == 500
    assert default.validate(PublishRequest(text="x" * 500, idempotency_key="k")) == []
    assert default.validate(PublishRequest(text="x" * 501, idempotency_key="k"))
    assert MastodonAdapter(base_url="https://big.example", max_characters=5000).max_text_length == 5000


def test_links_leave_out_trailing_punctuation_but_keep_balanced_brackets():
    urls = find_urls("See https://en.wikipedia.org/wiki/Python_(language), and https://example.com/a.")
    assert [u.url for u in urls] == ["https://en.wikipedia.org/wiki/Python_(language)", "https://example.com/a"]
    assert [u.href for u in find_urls("go to example.org/x now", bare_domains=True)] == ["https://example.org/x"]
    assert find_urls("mail me at a@example.com", bare_domains=True) == []


def test_counting_graphemes_of_plain_ascii_is_its_length():
    assert count_graphemes("The quick brown fox") == 19
