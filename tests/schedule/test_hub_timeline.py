"""The hub: SocialHub's own timeline as a platform. Posts land on the profile and in followers'
home feeds, exactly once per idempotency key."""

from __future__ import annotations

import pytest

from socialhub.channels.adapters import (
    AccountCredentials,
    get_adapter,
    PublishRequest,
    ThreadPart,
    ValidationError,
)
from socialhub.schedule.hub.models import SocialPost
from socialhub.schedule.hub import timeline
from socialhub.schedule.hub.adapter import HubAdapter
from socialhub.schedule.publisher import engine
from socialhub.schedule import reading
from socialhub.core.errors import ValidationError as ServiceValidationError
from tests.schedule.support import (  # noqa: F401  (fixtures)
    crew,
    due_post,
    fast_publishing,
    hub_account,
    make_user,
)


def creds_for(profile) -> AccountCredentials:
    return AccountCredentials(access_token="", account_id=str(profile.id), handle=profile.handle)


def test_the_hub_adapter_is_registered_and_keeps_the_platform_contract(session, crew):
    adapter = get_adapter("hub")
    assert isinstance(adapter, HubAdapter) and adapter.limits.supports_threads
    profile = timeline.get_or_create_profile(session, user_id=crew.owner.id)
    session.commit()
    request = PublishRequest(text="Thread start", idempotency_key="key-1", thread=(ThreadPart("and more"),), first_comment="comment")
    first = adapter.publish(creds_for(profile), request)
    again = adapter.publish(creds_for(profile), request)
    assert first.platform_post_id == again.platform_post_id and first.thread_post_ids == again.thread_post_ids
    assert len(first.thread_post_ids) == 2 and first.first_comment_id
    assert session.query(SocialPost).count() == 3, "publishing twice with one key creates nothing new"
    found = adapter.find_existing(creds_for(profile), request)
    assert found.already_existed and found.complete and found.platform_post_id == first.platform_post_id
    assert adapter.find_existing(creds_for(profile), PublishRequest(text="x", idempotency_key="other")) is None
    with pytest.raises(ValidationError):
        adapter.publish(creds_for(profile), PublishRequest(text="x" * 6000, idempotency_key="too-long"))


def test_published_hub_posts_appear_on_the_profile_and_in_followers_feeds(session, crew):
    account = hub_account(session, crew)
    fan = make_user(session, "Fan")
    stranger = make_user(session, "Stranger")
    timeline.follow(session, user_id=fan.id, profile_id=int(account.external_id))
    session.commit()
    due_post(session, crew, [account], "Hello followers")
    engine.publish_due()
    profile_posts = timeline.list_profile_posts(session, profile_id=int(account.external_id))
    assert [p.text for p in profile_posts] == ["Hello followers"]
    assert [p.text for p in timeline.home_feed(session, user_id=fan.id)] == ["Hello followers"]
    assert timeline.home_feed(session, user_id=stranger.id) == []
    assert fan.id in timeline.follower_user_ids(session, profile_id=int(account.external_id))


def test_following_is_idempotent_and_not_of_oneself(session, crew):
    fan = make_user(session, "Fan")
    profile = timeline.get_or_create_profile(session, user_id=crew.owner.id)
    first = timeline.follow(session, user_id=fan.id, profile_id=profile.id)
    assert timeline.follow(session, user_id=fan.id, profile_id=profile.id).id == first.id
    with pytest.raises(ServiceValidationError):
        timeline.follow(session, user_id=crew.owner.id, profile_id=profile.id)
    timeline.unfollow(session, user_id=fan.id, profile_id=profile.id)
    assert timeline.follower_user_ids(session, profile_id=profile.id) == []


def test_profile_handles_are_unique_and_safe(session, crew):
    a = make_user(session, "Same")
    profile = timeline.get_or_create_profile(session, user_id=a.id)
    assert profile.handle == "same"
    assert timeline.get_or_create_profile(session, user_id=a.id).id == profile.id


def test_hub_media_is_attached_by_storage_key(session, crew):
    from tests.media.test_uploads import image_bytes
    from socialhub.media import uploads

    account = hub_account(session, crew)
    media = uploads.upload_media(session, team_id=crew.team.id, actor_id=crew.owner.id, data=image_bytes("PNG"),
                                          alt_text="a square")
    session.commit()
    post = due_post(session, crew, [account], "with a picture", media_ids=[media.id])
    engine.publish_due()
    [row] = timeline.list_profile_posts(session, profile_id=int(account.external_id))
    assert row.media == [{"key": media.storage_key, "content_type": "image/png", "alt_text": "a square", "width": 40, "height": 30}]
    assert reading.get_post(session, team_id=crew.team.id, user_id=crew.owner.id, post_id=post.id).summary.status == "published"
