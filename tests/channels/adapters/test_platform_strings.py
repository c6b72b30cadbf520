"""What a platform sends back is untrusted: any Mastodon server can answer anything. Strings
adapters put into results and errors carry no NUL or control characters and have capped lengths
(`text.clean_*`: messages 1000, ids 255, URLs 2000, names 200)."""

from __future__ import annotations

import pytest

from socialhub.channels.adapters.exceptions import PlatformError
from socialhub.channels.adapters.mastodon import MastodonAdapter
from socialhub.channels.adapters.text import clean_text, clean_url, ID_MAX, MESSAGE_MAX, NAME_MAX, URL_MAX
from socialhub.channels.adapters.types import AccountCredentials, Follower, PublishRequest, PublishResult
from tests.fakes.platforms.mastodon import FakeMastodonServer
from tests.fakes.platforms.server import RecordedRequest, Reply

MEGABYTE = 1_000_000
HOSTILE = "bad\x00news\x07\x1b[31m\r" + "A" * MEGABYTE


class HostileMastodon(FakeMastodonServer):
    """A Mastodon server whose answers carry NUL, control characters and a megabyte of text."""

    def create_status(self, request: RecordedRequest) -> Reply:
        text = self.params(request).get("status", "")
        if text == "json error":
            return Reply(422, {"error": HOSTILE})
        if text == "plain error":
            return Reply(500, HOSTILE.encode("utf-8"), content_type="text/plain; charset=utf-8")
        reply = super().create_status(request)
        reply.body = {**reply.body, "id": "1\x00" + "9" * MEGABYTE, "url": "https://evil.example/\x00" + "u" * MEGABYTE}
        return reply

    def verify_credentials(self, request: RecordedRequest) -> Reply:
        return Reply(200, {**self.account, "acct": "alice\x00" + "x" * MEGABYTE})


@pytest.fixture
def hostile():
    with HostileMastodon() as server:
        yield server


@pytest.fixture
def adapter(hostile, http_client):
    return MastodonAdapter(base_url=hostile.url, client=http_client)


@pytest.fixture
def account(hostile):
    return AccountCredentials(access_token=hostile.issue_token(), account_id=hostile.account["id"], base_url=hostile.url)


def clean(value: str, limit: int) -> bool:
    return len(value) <= limit and not any(ord(c) < 32 and c not in "\n\t" for c in value)


@pytest.mark.parametrize("text", ["json error", "plain error"])
def test_an_error_with_nul_and_a_megabyte_of_text_becomes_a_short_clean_message(adapter, account, text):
    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, PublishRequest(text=text, idempotency_key=f"k-{text}"))

    message = failure.value.message
    assert clean(message, MESSAGE_MAX) and clean(str(failure.value), MESSAGE_MAX + 20)
    assert "badnews" in message


def test_ids_and_urls_a_platform_returns_are_cleaned_and_capped(adapter, account):
    result = adapter.publish(account, PublishRequest(text="hello", idempotency_key="k-ok"))

    assert clean(result.platform_post_id, ID_MAX) and result.platform_post_id.startswith("1999")
    assert all(clean(i, ID_MAX) for i in result.thread_post_ids)
    assert result.url is None or clean(result.url, URL_MAX)


def test_a_handle_from_the_platform_is_cleaned_and_capped(hostile, adapter):
    app = adapter.register_app(client_name="SocialHub", redirect_uri="https://socialhub.example/cb")
    code = hostile.issue_code(app.client_id, "https://socialhub.example/cb")

    tokens = adapter.exchange_code(code=code, redirect_uri="https://socialhub.example/cb")

    assert clean(tokens.handle, NAME_MAX) and tokens.handle.startswith("alicexxx")


def test_one_cleaner_for_every_platform_string():
    assert clean_text("a\x00b\tc\nd\x1fe\ud800", 100) == "ab\tc\nde"
    assert len(clean_text("x" * MEGABYTE, 1000)) == 1000
    assert clean_url("javascript:alert(1)") is None and clean_url("https://ok.example/p") == "https://ok.example/p"
    assert clean_url("https://x.example/" + "a" * URL_MAX) is None
    result = PublishResult(platform_post_id="id\x00", url="data:text/html,hi", warnings=("w\x00" * 2000,))
    assert result.platform_post_id == "id" and result.url is None and clean(result.warnings[0], MESSAGE_MAX)
    follower = Follower(platform_user_id="7", handle="h\x00", display_name="n" * 5000)
    assert follower.handle == "h" and len(follower.display_name) == NAME_MAX
    error = PlatformError("x\x00" * MEGABYTE, code="C\x00" * 1000)
    assert clean(error.message, MESSAGE_MAX) and clean(error.code, ID_MAX)
