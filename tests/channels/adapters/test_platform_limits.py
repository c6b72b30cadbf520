"""Per-platform checks of media, threads and visibility, shown to people before scheduling."""

from __future__ import annotations

from socialhub.channels.adapters.bluesky import BlueskyAdapter
from socialhub.channels.adapters.facebook import FacebookAdapter
from socialhub.channels.adapters.linkedin import LinkedInAdapter
from socialhub.channels.adapters.mastodon import MastodonAdapter
from socialhub.channels.adapters.threads import ThreadsAdapter
from socialhub.channels.adapters.types import MediaItem, PublishRequest, ThreadPart
from socialhub.channels.adapters.x import XAdapter


def image(content_type: str = "image/jpeg", **kwargs) -> MediaItem:
    return MediaItem(content_type, data=b"x", **kwargs)


def post(text: str = "hi", **kwargs) -> PublishRequest:
    return PublishRequest(text=text, idempotency_key="k", **kwargs)


def test_a_fitting_post_has_no_problems():
    assert BlueskyAdapter().validate(post(media=[image(alt_text="alt")] * 4, thread=[ThreadPart("two")])) == []


def test_too_many_images_is_a_problem():
    assert BlueskyAdapter().validate(post(media=[image()] * 5)) == ["5 media files; Bluesky allows 4"]


def test_image_over_the_size_limit_is_a_problem():
    big = MediaItem("image/jpeg", size_bytes=2_000_000)
    assert BlueskyAdapter().validate(post(media=[big])) == ["media 1 (image/jpeg): 1.9 MB; Bluesky allows 1 MB"]


def test_unsupported_type_lists_what_is_accepted():
    [problem] = ThreadsAdapter().validate(post(media=[image("image/webp")]))
    assert "does not accept image/webp" in problem and "image/jpeg" in problem


def test_video_too_long_and_mixed_media_are_problems():
    video = MediaItem("video/mp4", data=b"v", duration_seconds=200)
    problems = XAdapter().validate(post(media=[video, image()]))
    assert "X cannot mix videos with images in one post" in problems
    assert any("200 s; X allows 140 s" in p for p in problems)


def test_each_thread_part_is_checked_on_its_own():
    problems = BlueskyAdapter().validate(post(thread=[ThreadPart("ok"), ThreadPart("x" * 301)]))
    assert problems == ["part 3: text is 301 characters; Bluesky allows 300"]


def test_platforms_without_threads_or_videos_say_so():
    linkedin = LinkedInAdapter()
    assert linkedin.validate(post(thread=[ThreadPart("two")])) == ["LinkedIn does not support threads"]
    [problem] = FacebookAdapter().validate(post(media=[MediaItem("video/mp4", data=b"v")]))
    assert "Facebook does not accept video/mp4" in problem


def test_visibility_is_checked_per_platform():
    assert MastodonAdapter(base_url="https://m.example").validate(post(visibility="direct")) == []
    assert LinkedInAdapter().validate(post(visibility="followers")) == []
    assert BlueskyAdapter().validate(post(visibility="unlisted")) == ["Bluesky cannot publish with visibility 'unlisted'"]


def test_empty_post_is_a_problem():
    assert XAdapter().validate(post(text="   ")) == ["nothing to post"]


def test_bluesky_also_limits_bytes():
    # 300 graphemes that are 4 UTF-8 bytes each... but text limit bytes is 3000
    text = "\U0001F600" * 300 + ""  # 300 graphemes, 1200 bytes: fine
    assert BlueskyAdapter().validate(post(text=text)) == []
    heavy = "e" + "\u0301" * 1600  # one grapheme, 3201 bytes
    assert BlueskyAdapter().validate(post(text=heavy)) == ["text is longer than Bluesky's 3000 bytes"]
