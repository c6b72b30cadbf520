"""Digests: choosing, writing, delivering, tracking, failing and retrying, one per reader per day."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from socialhub.api import build_api
from socialhub.core import outbox
from socialhub.core.db import session_scope
from socialhub import ai
from socialhub.core.storage import get_storage
from socialhub.feed.models import Digest, DigestDelivery, DigestItem, FeedSettings
from socialhub.core.models import Email
from socialhub.identity.models import Notification
from socialhub.identity import users
from socialhub.feed import ai_models, digests, settings, sources, stories
from socialhub.core.errors import NotFound, ValidationError
from tests.ai.fakes import FakeAI
from tests.feed.support import STORIES, ada, bob, feed_server, rss, sign_up  # noqa: F401


@pytest.fixture
def reader(ada, feed_server):
    feed_server.feed("/feed", rss(title="Daily Example"))
    with session_scope() as session:
        sources.add_source(user_id=ada.id, url=feed_server.url("/feed"))
        settings.update_settings(
            session, user_id=ada.id, digest_time="07:00", max_items=3, min_score=0, topics="rust, postgresql",
            weights={"relevance": 0.4, "recency": 0.3, "reliability": 0.15, "engagement": 0.15},
            auto_generate=True, auto_email=True, auto_post=False, email_notifications=True)
    return ada


def view(user_id: int, digest_id: int) -> digests.DigestView:
    with session_scope() as session:
        return digests.get_digest(session, user_id=user_id, digest_id=digest_id)


def test_a_digest_has_the_top_stories_written_up_by_the_offline_provider_and_is_emailed(reader):
    digest_id = digests.build_digest(user_id=reader.id)

    digest = view(reader.id, digest_id)
    assert digest.status == "delivered" and digest.provider_label == "Built-in offline summary"
    assert [i.title for i in digest.items][:2] == [STORIES[0][0], STORIES[1][0]]  # the topics rank first
    assert len(digest.items) == 3 and digest.title and digest.summary
    for item in digest.items:
        assert item.summary and 3 <= len(item.key_points) <= 5 and item.hashtags
        assert item.score == sorted((i.score for i in digest.items), reverse=True)[item.position]
    assert digest.image_url.startswith("/media/")
    with session_scope() as session:
        image_key = session.get(Digest, digest_id).image_key
        email = session.exec(select(Email)).one()
        delivery = session.exec(select(DigestDelivery)).one()
        bell = session.exec(select(Notification).where(Notification.user_id == reader.id)).all()
    assert get_storage().get(image_key).startswith(b"\x89PNG")
    assert (delivery.channel, delivery.status, delivery.target) == ("email", "outbox", "ada@example.com")
    assert email.to_address == "ada@example.com" and digest.title in email.subject
    assert "written by: Built-in offline summary" in email.text_body
    assert any(n.title == "Your digest is ready" for n in bell)


def test_the_email_links_are_tracked_and_the_open_pixel_counts(reader):
    digest_id = digests.build_digest(user_id=reader.id)
    with session_scope() as session:
        email = session.exec(select(Email)).one()
        token = session.get(Digest, digest_id).open_token
    links = re.findall(r'href="(http://localhost:3000/r/[^"]+)"', email.html_body)
    assert len(links) == 3 and all(link in email.text_body for link in links)
    assert f'src="http://localhost:3000/o/{token}.gif"' in email.html_body
    assert "https://news.example/" not in email.html_body  # no untracked story link

    with TestClient(build_api(), follow_redirects=False) as client:
        response = client.get(links[0].removeprefix("http://localhost:3000"))
        assert response.status_code == 302 and response.headers["location"] == "https://news.example/0"
        assert client.get("/r/not-a-token").status_code == 404
        pixel = client.get(f"/o/{token}.gif")
        assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
        assert client.get(f"/o/{token}.png").content.startswith(b"\x89PNG")
        assert client.get("/o/nope.gif").status_code == 200  # a pixel either way, counting nothing

    digest = view(reader.id, digest_id)
    assert (digest.open_count, digest.click_count, digest.items[0].click_count) == (1, 1, 1)
    with session_scope() as session:
        story = stories.list_stories(session, user_id=reader.id, limit=10).stories
    assert next(s for s in story if s.url == "https://news.example/0").read  # the click counts as reading


def test_one_digest_per_day_and_regenerating_replaces_its_stories(reader):
    first = digests.build_digest(user_id=reader.id)
    assert digests.build_digest(user_id=reader.id) is None  # already built today
    with session_scope() as session:
        old_tokens = set(session.exec(select(DigestItem.click_token)))

    again = digests.regenerate(user_id=reader.id, digest_id=first)

    assert again == first
    with session_scope() as session:
        assert len(session.exec(select(Digest)).all()) == 1
        assert not old_tokens & set(session.exec(select(DigestItem.click_token)))
        assert len(session.exec(select(DigestDelivery)).all()) == 2


def test_a_story_in_an_earlier_digest_is_not_repeated(reader):
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    earlier = view(reader.id, digests.build_digest(user_id=reader.id, day=yesterday))
    today = view(reader.id, digests.build_digest(user_id=reader.id))
    assert len(earlier.items) == 3 and len(today.items) == 2  # five stories in all
    assert not {i.title for i in earlier.items} & {i.title for i in today.items}


def test_nothing_above_the_minimum_score_is_said_plainly_and_nothing_is_sent(reader):
    with session_scope() as session:
        prefs = session.get(FeedSettings, reader.id)
        prefs.min_score = 100
        session.add(prefs)

    digest = view(reader.id, digests.build_digest(user_id=reader.id))

    assert digest.status == "generated" and digest.items == []
    assert "Lower the minimum score" in digest.summary
    with session_scope() as session:
        assert session.exec(select(Email)).all() == []


def test_an_ai_failure_shows_on_the_digest_and_a_retry_can_succeed(reader):
    with FakeAI() as server:
        with session_scope() as session:
            users.set_provider_key(session, user_id=reader.id, provider="openai", key="sk-test-key-123")
        server.fail_with = (401, "Incorrect API key provided")
        config = ai.AIConfig(openai_base_url=server.url("/v1"))
        with session_scope() as session:
            models = ai_models.models_for_user(session, user_id=reader.id, config=config)
        failed_id = digests.build_digest(user_id=reader.id, models=models)
        failed = view(reader.id, failed_id)
        assert failed.status == "failed" and "did not accept your API key" in failed.error
        with session_scope() as session:
            emails = session.exec(select(Email)).all()
        assert [e.subject for e in emails] == ["Your SocialHub digest could not be built"]

        server.fail_with = None
        with session_scope() as session:
            models = ai_models.models_for_user(session, user_id=reader.id, config=config)
        retried = view(reader.id, digests.build_digest(user_id=reader.id, day=failed.day, force=True, models=models))
    assert retried.status == "delivered" and retried.provider_label == "OpenAI gpt-4o-mini"
    assert retried.items[0].key_points[0] == "Robots fold laundry"
    with session_scope() as session:
        image = get_storage().get(session.get(Digest, retried.id).image_key)
    assert image.startswith(b"\x89PNG")


def test_posting_a_digest_goes_through_the_publishing_service_and_is_logged(reader):
    with session_scope() as session:
        prefs = session.get(FeedSettings, reader.id)
        prefs.auto_post = True
        session.add(prefs)

    digest = view(reader.id, digests.build_digest(user_id=reader.id))

    post = next(d for d in digest.deliveries if d.channel == "post")
    assert post.status == "posted", post.error
    assert digest.status == "delivered"


def test_when_every_delivery_fails_the_digest_is_failed_with_the_reasons(reader, monkeypatch):
    def broken_send(session, **kwargs):
        row = Email(to_address=kwargs["to"], subject=kwargs["subject"], text_body="", status="failed",
                    error="could not send mail via smtp.example:587")
        session.add(row)
        session.flush()
        return row

    monkeypatch.setattr(outbox, "send_email", broken_send)
    digest = view(reader.id, digests.build_digest(user_id=reader.id))
    assert digest.status == "failed" and "email: could not send mail" in digest.error


def test_a_build_in_progress_is_not_started_twice_and_an_interrupted_one_becomes_retryable(reader):
    now = datetime.now(UTC)
    day = settings.local_day(reader, now)
    with session_scope() as session:
        digests.claim_digest(session, user_id=reader.id, day=day, now=now)
    with pytest.raises(ValidationError, match="being built right now"):
        digests.build_digest(user_id=reader.id, now=now + timedelta(minutes=1))

    with session_scope() as session:
        assert digests.sweep_interrupted(session, now=now + digests.LEASE + timedelta(seconds=1)) == 1
        digest = session.exec(select(Digest)).one()
    assert digest.status == "failed" and "interrupted" in digest.error


def test_the_digest_is_due_at_the_digest_time_in_the_readers_time_zone(database_url, feed_server):
    tokyo = sign_up("Kenji", timezone="Asia/Tokyo")
    feed_server.feed("/feed", rss())
    with session_scope() as session:
        sources.add_source(user_id=tokyo.id, url=feed_server.url("/feed"))
        prefs = session.get(FeedSettings, tokyo.id)
    # 07:00 in Tokyo is 22:00 UTC the day before.
    assert prefs.next_digest_at.astimezone(UTC).hour == 22 and prefs.digest_time == "07:00"
    due_at = prefs.next_digest_at

    assert digests.build_due_digests(now=due_at - timedelta(minutes=1)) == []
    built = digests.build_due_digests(now=due_at + timedelta(seconds=5))
    assert len(built) == 1
    with session_scope() as session:
        digest = session.get(Digest, built[0])
        prefs = session.get(FeedSettings, tokyo.id)
    assert digest.day == (due_at + timedelta(seconds=5)).astimezone(settings._zone(tokyo)).date()
    assert prefs.next_digest_at == due_at + timedelta(days=1)
    assert digests.build_due_digests(now=due_at + timedelta(minutes=2)) == []


def test_two_schedulers_building_due_digests_at_once_build_each_only_once(database_url, feed_server):
    readers = [sign_up(f"Reader{n}") for n in range(4)]
    feed_server.feed("/feed", rss())
    with session_scope() as session:
        for user in readers:
            sources.add_source(user_id=user.id, url=feed_server.url("/feed"))
        due = max(session.get(FeedSettings, u.id).next_digest_at for u in readers) + timedelta(seconds=1)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: digests.build_due_digests(now=due), range(2)))

    assert sorted(results[0] + results[1]) == sorted(set(results[0] + results[1]))
    with session_scope() as session:
        assert len(session.exec(select(Digest)).all()) == 4
        assert len(session.exec(select(Email)).all()) == 4


def test_another_readers_digest_cannot_be_seen_regenerated_or_sent(reader, bob):
    digest_id = digests.build_digest(user_id=reader.id)
    with pytest.raises(NotFound):
        with session_scope() as session:
            digests.get_digest(session, user_id=bob.id, digest_id=digest_id)
    with pytest.raises(NotFound):
        digests.regenerate(user_id=bob.id, digest_id=digest_id)
    with pytest.raises(NotFound):
        digests.deliver_digest(user_id=bob.id, digest_id=digest_id)
    with session_scope() as session:
        assert digests.list_digests(session, user_id=bob.id) == []


@pytest.mark.parametrize("field, value, message", [
    ("digest_time", "25:00", "hours and minutes"),
    ("digest_time", "7am", "hours and minutes"),
    ("max_items", "0", "from 1 to 30"),
    ("max_items", "2.5", "whole number"),
    ("min_score", "'; DROP TABLE users; --", "from 0 to 100"),
    ("min_score", "nan", "from 0 to 100"),
    ("topics", "x" * 61, "under 60 characters"),
    ("topics", ",".join(f"t{n}" for n in range(21)), "at most 20 topics"),
])
def test_bad_digest_settings_are_refused_with_a_clear_message(reader, field, value, message):
    values = {"digest_time": "07:00", "max_items": "5", "min_score": "20", "topics": "rust"}
    values[field] = value
    with pytest.raises(ValidationError, match=message):
        with session_scope() as session:
            settings.update_settings(
                session, user_id=reader.id, weights={"relevance": 1, "recency": 1, "reliability": 1, "engagement": 1},
                auto_generate=True, auto_email=True, auto_post=False, email_notifications=True, **values)


def test_a_reader_without_sources_gets_no_scheduled_digest_but_their_next_time_moves_on(database_url):
    lonely = sign_up("Lonely")
    with session_scope() as session:
        due = settings.get_or_create(session, user_id=lonely.id).next_digest_at
    assert digests.build_due_digests(now=due + timedelta(seconds=1)) == []
    with session_scope() as session:
        assert session.exec(select(Digest)).all() == []
        assert session.get(FeedSettings, lonely.id).next_digest_at == due + timedelta(days=1)
