"""The offline provider: deterministic, extractive (nothing invented), honest about its limits."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from socialhub import ai

TEXT = ("Rust 1.80 was released on Thursday with a long list of improvements to the compiler. "
        "The release makes incremental builds faster for large workspaces. Cargo also gained a new lint "
        "table so teams can share settings across crates. The Rust team said the next release will focus "
        "on async closures; it is expected in six weeks. Developers have welcomed the faster builds, which "
        "were the most requested feature in the annual survey.")


def test_the_same_text_always_gives_the_same_output():
    a, b = ai.text_model("local"), ai.text_model("local")
    assert a.summarize(TEXT, max_words=40) == b.summarize(TEXT, max_words=40)
    assert a.key_points(TEXT, 4) == b.key_points(TEXT, 4)
    assert a.hashtags(TEXT, 4) == b.hashtags(TEXT, 4)
    assert ai.LocalImage().generate_image("Same title") == ai.LocalImage().generate_image("Same title")


def test_the_summary_is_made_of_the_texts_own_sentences_within_the_word_budget():
    summary = ai.text_model("local").summarize(TEXT, max_words=40)
    assert len(summary.split()) <= 40
    for sentence in summary.split(". "):
        assert sentence.rstrip(".") in TEXT
    assert summary.startswith("Rust 1.80 was released")  # the lede is kept
    assert ai.text_model("local").summarize("Short text.", max_words=40) == "Short text."


def test_key_points_are_three_to_five_sentences_in_text_order():
    points = ai.text_model("local").key_points(TEXT, 4)
    assert 3 <= len(points) <= 5
    assert [TEXT.index(p.rstrip(".").split(";")[0][:30]) for p in points] == sorted(
        TEXT.index(p.rstrip(".").split(";")[0][:30]) for p in points)


def test_hashtags_prefer_names_and_never_repeat_a_word_family():
    tags = ai.text_model("local").hashtags(TEXT, 4)
    assert tags[0] == "#Rust" and len(tags) == 4
    assert len({t.lower()[:6] for t in tags}) == 4
    assert all(t.startswith("#") and " " not in t for t in tags)


def test_free_writing_is_refused_with_advice_instead_of_faked():
    with pytest.raises(ai.AIError, match="Add an OpenAI or Anthropic key"):
        ai.text_model("local").complete("Write a poem")


def test_the_title_card_is_a_real_png_of_the_requested_size():
    data = ai.LocalImage().generate_image("Today: Rust, Cargo and compilers", size="1200x630")
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("PNG", (1200, 630))


def test_without_a_key_there_is_no_remote_provider():
    with pytest.raises(ai.AIError, match="No API key"):
        ai.text_model("openai", None)
    assert ai.text_model("local").label == "Built-in offline summary"
    assert isinstance(ai.image_model("anthropic", "key"), ai.LocalImage)  # Anthropic makes no images


def test_a_digest_title_is_its_top_story_and_how_many_more():
    lines = "Rust 1.80 makes builds faster. More text.\nPostgreSQL 17 adds backups. Text.\nBike lanes approved."
    assert ai.text_model("local").title(lines, max_words=10) == "Rust 1.80 makes builds faster + 2 more"
    assert ai.text_model("local").title("", max_words=10) == "Your digest"
