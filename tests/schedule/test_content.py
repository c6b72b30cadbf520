"""Counting the way each platform counts, splitting long text into numbered threads, and
validation errors shown before scheduling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from socialhub.core.models import utcnow
from socialhub.channels import accounts as platform_accounts
from socialhub.schedule import content, posts, timing
from socialhub.core.errors import ValidationError
from socialhub.schedule.content import count_for, split_thread
from tests.fakes.platforms.mastodon import FakeMastodonServer
from tests.schedule.support import (  # noqa: F401  (fixtures)
    crew,
    fast_publishing,
    hub_account,
    mastodon_account,
)

FAMILY = "👨\u200d👩\u200d👧\u200d👦"


def test_each_platform_counts_its_own_way():
    url = "https://example.com/" + "a" * 100
    assert count_for("bluesky", FAMILY * 3) == (3, 300)  # graphemes
    assert count_for("x", f"hi {url}") == (3 + 23, 280)  # links count 23
    assert count_for("x", "日本語") == (6, 280)  # CJK weighs 2
    assert count_for("mastodon", f"hi {url} @bob@example.social") == (3 + 23 + 5, 500)
    assert count_for("linkedin", "plain")[1] == 3000


def test_composer_counters_need_no_database():
    accounts = [
        platform_accounts.AccountView(1, "x", "X", "me", "me", "", "UTC", "ok", "", None, 280),
        platform_accounts.AccountView(2, "mastodon", "Mastodon", "me", "me", "https://m.example", "UTC", "ok", "", None, 1000),
    ]
    counters = content.composer_counters(accounts, "日本 " + "x" * 10)
    assert [(c.platform, c.count, c.limit) for c in counters] == [("x", 15, 280), ("mastodon", 13, 1000)]
    assert counters[0].remaining == 265


def test_long_text_splits_into_numbered_parts_that_each_fit():
    text = " ".join(f"Sentence number {i} says something worth reading." for i in range(40))
    parts = split_thread(text, limit=280, count=lambda t: count_for("x", t)[0])
    assert len(parts) > 5
    assert all(count_for("x", p)[0] <= 280 for p in parts)
    assert parts[0].endswith(f" 1/{len(parts)}") and parts[-1].endswith(f" {len(parts)}/{len(parts)}")
    joined = " ".join(p.rsplit(" ", 1)[0] for p in parts)
    assert joined.split() == text.split(), "no word lost or cut"
    assert all(p.rsplit(" ", 1)[0].rstrip().endswith(".") for p in parts[:-1]), "breaks at sentence ends"


def test_splitting_counts_graphemes_links_and_cuts_only_giant_words():
    text = (FAMILY + " ") * 400
    parts = split_thread(text, limit=300, count=lambda t: count_for("bluesky", t)[0])
    assert all(count_for("bluesky", p)[0] <= 300 for p in parts)
    assert sum(p.count(FAMILY) for p in parts) == 400, "an emoji is never cut in half"
    long_word = "x" * 700
    parts = split_thread(long_word, limit=280)
    assert "".join(p.rsplit(" ", 1)[0] for p in parts) == long_word
    assert split_thread("short enough", limit=280) == ["short enough"]


def test_a_thread_longer_than_fifty_posts_is_refused():
    with pytest.raises(ValidationError, match="at most 50"):
        split_thread("word " * 10_000, limit=50)


def test_apply_thread_split_saves_a_variant_for_that_platform(session, crew):
    with FakeMastodonServer(max_characters=100) as server:
        account = mastodon_account(session, crew, server)
        account.limits = platform_accounts.limits_to_json(platform_accounts.adapter_for(account).fetch_instance_limits())
        post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id,
                                      text="A sentence that goes on. " * 20, account_ids=[account.id])
        session.commit()
        variant = posts.apply_thread_split(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                                                platform="mastodon")
        session.commit()
        assert variant.text.endswith(f" 1/{len(variant.thread_parts) + 1}")
        [preview] = content.preview_post(session, team_id=crew.team.id, user_id=crew.owner.id, post_id=post.id)
        assert preview.problems == () and len(preview.parts) == len(variant.thread_parts) + 1


def test_problems_are_shown_per_account_before_scheduling(session, crew):
    hub = hub_account(session, crew)
    with FakeMastodonServer(max_characters=100) as server:
        masto = mastodon_account(session, crew, server)
        # The instance's own limit (100), not Mastodon's default 500, once it is known:
        masto.limits = platform_accounts.limits_to_json(platform_accounts.adapter_for(masto).fetch_instance_limits())
        session.add(masto)
        post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="y" * 150,
                                      account_ids=[hub.id, masto.id])
        session.commit()
        problems = content.validate_post(session, team_id=crew.team.id, user_id=crew.owner.id, post_id=post.id)
        assert list(problems) == [masto.id] and "allows 100" in problems[masto.id][0]
        with pytest.raises(ValidationError, match="Mastodon alice: text is 150 characters; Mastodon allows 100"):
            timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                                     when=utcnow() + timedelta(hours=1))
        session.rollback()


def test_an_empty_post_cannot_be_scheduled(session, crew):
    hub = hub_account(session, crew)
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="   ", account_ids=[hub.id])
    session.commit()
    with pytest.raises(ValidationError, match="write something"):
        timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                                 when=utcnow() + timedelta(hours=1))


def test_a_first_comment_where_the_platform_has_none_is_a_problem(session, crew):
    hub = hub_account(session, crew)
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="hi", first_comment="link in bio",
                                  account_ids=[hub.id])
    session.commit()
    [preview] = content.preview_post(session, team_id=crew.team.id, user_id=crew.owner.id, post_id=post.id)
    assert preview.problems == () and preview.first_comment == "link in bio"  # the hub supports first comments
