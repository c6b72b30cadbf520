"""OpenAI and Anthropic through their official SDKs, against local servers speaking their APIs."""

from __future__ import annotations

import pytest

from socialhub import ai
from socialhub.ai.anthropic_provider import AnthropicText
from socialhub.ai.openai_provider import OpenAIImage, OpenAIText
from tests.ai.fakes import FakeAI, png_bytes


@pytest.fixture
def server():
    with FakeAI() as fake:
        yield fake


@pytest.fixture(params=["openai", "anthropic"])
def model(request, server):
    config = ai.AIConfig(openai_base_url=server.url("/v1"), anthropic_base_url=server.url(""),
                         openai_model="gpt-test", anthropic_model="claude-test")
    return ai.text_model(request.param, f"key-{request.param}-secret", config=config)


def test_each_job_asks_for_what_it_needs_and_parses_the_answer(model, server):
    assert model.summarize("Some story text.", max_words=30) == (
        "Robots learned to fold laundry, and a fast Rust release shipped.")
    assert model.key_points("Some story text.", 4) == [
        "Robots fold laundry", "Rust builds got faster", "Cargo has lint tables", "Closures come next"]
    assert model.hashtags("Some story text.", 4) == ["#Robots", "#OpenSource", "#Rust", "#AI"]
    assert model.title("Stories", max_words=8) == "Robots and Rust: your day"
    prompts = [r["json"]["messages"][-1]["content"] for r in server.requests]
    assert "at most 30 words" in prompts[0] and "4 most important points" in prompts[1]


def test_the_users_key_and_model_are_sent_and_the_label_names_them(model, server):
    model.summarize("Text.")
    request = server.requests[-1]
    if model.name == "openai":
        assert request["path"] == "/v1/chat/completions"
        assert request["headers"]["authorization"] == "Bearer key-openai-secret"
        assert request["json"]["model"] == "gpt-test" and model.label == "OpenAI gpt-test"
        assert request["json"]["messages"][0]["role"] == "system"
    else:
        assert request["path"] == "/v1/messages"
        sent = request["headers"].get("x-api-key") or request["headers"].get("authorization", "")
        assert sent.removeprefix("Bearer ") == "key-anthropic-secret"  # the SDK's choice of header
        assert request["json"]["model"] == "claude-test" and model.label == "Anthropic claude-test"
        assert request["json"]["system"]


def test_a_long_text_is_cut_before_it_is_sent(model, server):
    model.summarize("word " * 100_000)
    assert len(server.requests[-1]["json"]["messages"][-1]["content"]) < ai.base.MAX_INPUT_CHARS + 200


def test_a_refused_key_becomes_a_readable_error_without_the_key(model, server):
    server.fail_with = (401, "Incorrect API key provided")
    with pytest.raises(ai.AIError) as error:
        model.summarize("Text.")
    assert "did not accept your API key" in str(error.value)
    assert "secret" not in str(error.value) and not error.value.retryable


def test_a_server_error_is_retryable(model, server):
    server.fail_with = (500, "boom")
    with pytest.raises(ai.AIError) as error:
        model.summarize("Text.")
    assert error.value.retryable and "500" in str(error.value)


def test_an_unreachable_provider_is_a_retryable_error():
    model = OpenAIText("sk-x", base_url="http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(ai.AIError, match="could not be reached") as error:
        model.summarize("Text.")
    assert error.value.retryable
    with pytest.raises(ai.AIError, match="could not be reached"):
        AnthropicText("sk-x", base_url="http://127.0.0.1:9", timeout=2).summarize("Text.")


def test_openai_images_come_back_as_checked_png_bytes(server):
    image = OpenAIImage("sk-img", base_url=server.url("/v1"), model="img-test")
    assert image.generate_image("A digest illustration", size="1024x1024") == png_bytes()
    assert server.requests[-1]["json"] == {"model": "img-test", "prompt": "A digest illustration",
                                            "size": "1024x1024", "n": 1}
    server.image_reply = {"created": 1, "data": [{"b64_json": "PGh0bWw+"}]}  # "<html>", not an image
    with pytest.raises(ai.AIError, match="not a PNG, JPEG or WebP"):
        image.generate_image("x")
