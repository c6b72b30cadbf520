"""Remixes through the job queue: made offline with their recipe, remixes of remixes with
prompt diffs and a tree, limits, cancel and retry, failures with reasons, and SKIP LOCKED
claims (two workers never share a job; a crashed worker's job is taken again after its lease)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import text
from sqlmodel import select

from socialhub.core import storage
from socialhub.core.db import session_scope
from socialhub.core.errors import NotFound, RateLimited, ValidationError
from socialhub.remix import generate, threads
from socialhub.remix.models import Ad, Remix, RemixJob
from tests.remix.support import make_video, person, remix_now, upload


def get(model, key):
    with session_scope() as session:
        return session.get(model, key)


def test_a_remix_is_made_by_the_queue_with_its_recipe(shop):
    fan = person("Fan")
    ad_id = upload(shop)
    remix_id = remix_now(fan, ad_id, "black and white, add text \"Mine\" at the top")
    remix = get(Remix, remix_id)
    assert (remix.status, remix.progress, remix.provider, remix.model, remix.kind) == ("done", 100, "local", "pillow", "image")
    assert remix.input_key == get(Ad, ad_id).web_key and remix.parent_id is None
    assert remix.prompt_diff == [{"op": "+", "text": 'black and white, add text "Mine" at the top'}]
    assert remix.notes[:2] == ["Done: black and white", 'Done: text "Mine" at the top in the brand colours']
    out = Image.open(io.BytesIO(storage.get_storage().get(remix.output_key)))
    r, g, b = out.convert("RGB").getpixel((out.width // 2, out.height - 5))
    assert abs(r - g) < 3 and abs(g - b) < 3  # grey where the banner is not
    assert get(Ad, ad_id).remix_count == 1
    assert get(RemixJob, 1).status == "done"


def test_remix_of_a_remix_diffs_prompts_and_builds_the_tree(shop):
    fan, other = person("Fan"), person("Other")
    ad_id = upload(shop)
    first = remix_now(fan, ad_id, "make it sepia")
    second = remix_now(other, ad_id, "make it sepia and crop to 1:1", parent_id=first)
    third = remix_now(fan, ad_id, "vignette")
    child = get(Remix, second)
    assert child.parent_id == first and child.input_key == get(Remix, first).output_key
    assert child.prompt_diff == [{"op": "=", "text": "make it sepia"}, {"op": "+", "text": "and crop to 1:1"}]
    with session_scope() as session:
        tree = threads.remix_tree(session, ad_id=ad_id)
        flat = [(n.remix.id, n.depth) for n in threads.flatten(tree)]
        chain = [r.id for r in threads.lineage(session, remix_id=second)]
        comparison = threads.compare_remixes(session, left_id=first, right_id=third)
    assert flat == [(first, 0), (second, 1), (third, 0)]
    assert chain == [first, second]
    assert comparison.diff == [{"op": "=", "text": "make it"}, {"op": "-", "text": "sepia"}] or \
        {"op": "+", "text": "vignette"} in comparison.diff
    out = Image.open(io.BytesIO(storage.get_storage().get(child.output_key)))
    assert out.width == out.height


def test_remixing_an_unfinished_or_foreign_remix_is_refused(shop):
    fan = person("Fan")
    ad_id, other_ad = upload(shop), upload(shop, title="Other")
    with session_scope() as session:
        pending = generate.request_remix(session, user_id=fan.id, ad_id=ad_id, prompt="sepia").id
    with pytest.raises(ValidationError, match="not finished"), session_scope() as session:
        generate.request_remix(session, user_id=fan.id, ad_id=ad_id, prompt="blur", parent_id=pending)
    with pytest.raises(NotFound), session_scope() as session:
        generate.request_remix(session, user_id=fan.id, ad_id=other_ad, prompt="blur", parent_id=pending)


def test_prompts_are_length_limited(shop, monkeypatch):
    monkeypatch.setenv("REMIX_MAX_PROMPT", "50")
    ad_id = upload(shop)
    with pytest.raises(ValidationError, match="at most 50 characters"), session_scope() as session:
        generate.request_remix(session, user_id=shop.owner.id, ad_id=ad_id, prompt="sepia " * 20)


def test_concurrent_and_daily_limits_per_user(shop, monkeypatch):
    monkeypatch.setenv("REMIX_CONCURRENT_PER_USER", "2")
    monkeypatch.setenv("REMIX_DAILY_PER_USER", "3")
    fan, other = person("Fan"), person("Other")
    ad_id = upload(shop)
    for _ in range(2):
        with session_scope() as session:
            generate.request_remix(session, user_id=fan.id, ad_id=ad_id, prompt="sepia")
    with pytest.raises(RateLimited, match="at most 2 at a time"), session_scope() as session:
        generate.request_remix(session, user_id=fan.id, ad_id=ad_id, prompt="sepia")
    with session_scope() as session:  # someone else is not limited by Fan's remixes
        generate.request_remix(session, user_id=other.id, ad_id=ad_id, prompt="sepia")
    generate.run_due(worker="w")
    with session_scope() as session:
        generate.request_remix(session, user_id=fan.id, ad_id=ad_id, prompt="sepia")
    generate.run_due(worker="w")
    with pytest.raises(RateLimited, match="last 24 hours"), session_scope() as session:
        generate.request_remix(session, user_id=fan.id, ad_id=ad_id, prompt="sepia")


def test_a_prompt_the_offline_editor_cannot_do_fails_with_the_reason_and_can_be_retried(shop):
    fan = person("Fan")
    ad_id = upload(shop)
    remix_id = remix_now(fan, ad_id, "add a dragon")
    remix = get(Remix, remix_id)
    assert remix.status == "failed" and "could not do any part of this prompt" in remix.error
    assert get(Ad, ad_id).remix_count == 0
    with session_scope() as session:
        generate.retry_remix(session, user_id=fan.id, remix_id=remix_id)
    assert get(Remix, remix_id).status == "queued"
    with pytest.raises(Exception, match="Only the person"), session_scope() as session:
        generate.cancel_remix(session, user_id=shop.owner.id, remix_id=remix_id)
    with session_scope() as session:
        generate.cancel_remix(session, user_id=fan.id, remix_id=remix_id)
    assert generate.run_due(worker="w") == 0
    assert get(Remix, remix_id).status == "cancelled"


def test_two_workers_never_claim_the_same_job(shop):
    fan = person("Fan")
    ad_id = upload(shop)
    with session_scope() as session:
        ids = [generate.request_remix(session, user_id=fan.id, ad_id=ad_id, prompt="sepia").id for _ in range(3)]
    with session_scope() as first:
        mine = generate.claim_jobs(first, worker="a", limit=2)
        with session_scope() as second:  # while the first transaction still holds its row locks
            theirs = generate.claim_jobs(second, worker="b", limit=5)
    assert len(mine) == 2 and len(theirs) == 1
    assert sorted(r for _, r, _ in mine + theirs) == sorted(ids)


def test_a_crashed_workers_job_is_taken_again_after_its_lease(shop):
    fan = person("Fan")
    ad_id = upload(shop)
    with session_scope() as session:
        remix_id = generate.request_remix(session, user_id=fan.id, ad_id=ad_id, prompt="sepia").id
    with session_scope() as session:
        [(job_id, _, attempts)] = generate.claim_jobs(session, worker="crashed", limit=5)
    assert attempts == 1
    with session_scope() as session:  # the lease is still valid: nobody else may take it
        assert generate.claim_jobs(session, worker="rescuer") == []
        session.execute(text("UPDATE remix_jobs SET claimed_until = now() - interval '1 second'"))
    assert generate.run_due(worker="rescuer") == 1
    job = get(RemixJob, job_id)
    assert (job.status, job.claimed_by, job.attempts) == ("done", "rescuer", 2)
    assert get(Remix, remix_id).status == "done"
    # The crashed worker coming back finds it is no longer its job and writes nothing.
    assert generate.run_job(job_id, remix_id, 1, worker="crashed") == "cancelled"


def test_a_job_past_its_attempts_fails(shop, monkeypatch):
    monkeypatch.setenv("REMIX_MAX_ATTEMPTS", "1")
    fan = person("Fan")
    ad_id = upload(shop)
    with session_scope() as session:
        remix_id = generate.request_remix(session, user_id=fan.id, ad_id=ad_id, prompt="sepia").id
    with session_scope() as session:
        generate.claim_jobs(session, worker="crashed")
        session.execute(text("UPDATE remix_jobs SET claimed_until = now() - interval '1 second'"))
    generate.run_due(worker="rescuer")
    remix = get(Remix, remix_id)
    assert remix.status == "failed" and "too many times" in remix.error


def test_progress_events_are_published_to_the_remixer_and_the_brand(shop, monkeypatch):
    from socialhub.remix import generate as gen

    seen = []
    monkeypatch.setattr(gen.events, "publish", lambda session, **kw: seen.append(kw))
    fan = person("Fan")
    remix_now(fan, upload(shop), "sepia")
    progress = [e["data"]["progress"] for e in seen]
    assert progress[0] == 0 and progress[-1] == 100 and 25 in progress
    assert all(set(e["user_ids"]) == {fan.id, shop.owner.id} for e in seen)
    assert seen[-1]["data"]["status"] == "done" and seen[-1]["kind"] == "remix"


def test_a_video_ad_is_remixed_offline_into_a_clip(shop):
    from socialhub.remix import assets
    import tempfile
    from pathlib import Path

    fan = person("Fan")
    ad_id = upload(shop, make_video(2))
    remix_id = remix_now(fan, ad_id, "black and white, add text \"Go\" at the bottom")
    remix = get(Remix, remix_id)
    assert (remix.status, remix.kind, remix.model) == ("done", "video", "ffmpeg"), remix.error
    clip = storage.get_storage().get(remix.output_key)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.mp4"
        path.write_bytes(clip)
        info = assets.probe_video(path)
    assert info["codec"] == "h264" and 4.5 < info["duration"] < 5.5  # 2 s, a 1 s fade, 2 s
    assert "Done: a cross-fade from the first frame to the last" in remix.notes


def test_cancelling_a_finished_remix_is_refused(shop):
    fan = person("Fan")
    remix_id = remix_now(fan, upload(shop), "sepia")
    with pytest.raises(ValidationError, match="already done"), session_scope() as session:
        generate.cancel_remix(session, user_id=fan.id, remix_id=remix_id)
    with session_scope() as session:
        assert session.exec(select(RemixJob.status)).all() == ["done"]
    _ = timedelta
