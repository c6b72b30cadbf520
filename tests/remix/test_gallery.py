"""Listing ads (sorts, trending, search, filters, keyset pages), likes once per person, comments
with replies, sharing a remix to Schedule, signals and the brand dashboard — and that one team
cannot read another's dashboard."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import select

from socialhub.core.db import session_scope
from socialhub.core.errors import NotFound
from socialhub.media.models import Media
from socialhub.remix import ads, dashboard, reactions, signals, threads
from socialhub.remix.models import Ad, RemixLike
from socialhub.schedule.models import Post, PostMedia
from tests.remix.support import make_shop, person, remix_now, team_of, upload


def listed(user, **kw):
    with session_scope() as session:
        cards, cursor = ads.list_ads(session, viewer_id=user.id, **kw)
    return [c.title for c in cards], cursor


def test_sorts_trending_and_keyset_pages(shop):
    fan = person("Fan")
    a, b, c = (upload(shop, title=t) for t in ("A", "B", "C"))
    remix_now(fan, b, "sepia")
    remix_now(fan, b, "blur")
    remix_now(fan, c, "sepia")
    with session_scope() as session:
        reactions.set_like(session, user_id=fan.id, ad_id=a)
        session.execute(text("UPDATE remixes SET created_at = now() - interval '2 days' WHERE ad_id = :b"), {"b": b})
    assert listed(fan)[0] == ["C", "B", "A"]
    assert listed(fan, sort="remixed")[0] == ["B", "C", "A"]
    assert listed(fan, sort="liked")[0][0] == "A"
    assert listed(fan, sort="trending")[0] == ["C", "B", "A"]  # B's remixes are two days old
    titles, cursor = listed(fan, limit=2)
    assert titles == ["C", "B"] and cursor
    upload(shop, title="D")  # a newer ad does not shift the next page
    assert listed(fan, limit=2, cursor=cursor) == (["A"], "")
    titles, cursor = listed(fan, sort="remixed", limit=1)
    assert titles == ["B"] and listed(fan, sort="remixed", limit=5, cursor=cursor)[0] == ["C", "D", "A"]


def test_search_and_filters(shop):
    other = make_shop("Globex")
    upload(shop, title="Summer sale", tags="summer, beach")
    upload(shop, title="Winter coats", tags="winter")
    upload(other, title="Beach towels", tags="summer")
    fan = person("Fan")
    assert sorted(listed(fan, query="beach")[0]) == ["Beach towels", "Summer sale"]  # title or tag
    assert listed(fan, query="globex")[0] == ["Beach towels"]  # brand name
    assert listed(fan, tag="summer", brand_id=shop.brand_id)[0] == ["Summer sale"]
    assert listed(fan, kind="video")[0] == []
    assert listed(fan, query="100%_")[0] == []  # wildcards are literal
    with session_scope() as session:
        assert ads.all_tags(session)[:1] == ["summer"]


def test_likes_are_one_per_person_and_counted(shop):
    fan = person("Fan")
    ad_id = upload(shop)
    with session_scope() as session:
        assert reactions.set_like(session, user_id=fan.id, ad_id=ad_id) == 1
    with session_scope() as session:
        assert reactions.set_like(session, user_id=fan.id, ad_id=ad_id) == 1
        assert reactions.set_like(session, user_id=shop.owner.id, ad_id=ad_id) == 2
    with session_scope() as session:
        assert reactions.set_like(session, user_id=fan.id, ad_id=ad_id, liked=False) == 1
        assert len(session.exec(select(RemixLike)).all()) == 1
    remix_id = remix_now(fan, ad_id, "sepia")
    with session_scope() as session:
        assert reactions.set_like(session, user_id=fan.id, ad_id=ad_id, remix_id=remix_id) == 1
        assert session.get(Ad, ad_id).like_count == 1  # the remix's like is its own


def test_comments_with_replies_render_as_a_thread_and_html_stays_text(shop):
    fan, other = person("Fan"), person("Other")
    ad_id = upload(shop)
    with session_scope() as session:
        first = reactions.add_comment(session, user_id=fan.id, ad_id=ad_id, body="<script>alert(1)</script> love it")
        second = reactions.add_comment(session, user_id=other.id, ad_id=ad_id, body="Me too")
        reply = reactions.add_comment(session, user_id=other.id, ad_id=ad_id, body="Agreed", parent_id=first.id)
    with session_scope() as session:
        thread = reactions.list_comments(session, ad_id=ad_id)
        assert [(c.id, c.depth) for c in thread] == [(first.id, 0), (reply.id, 1), (second.id, 0)]
        assert thread[0].body == "<script>alert(1)</script> love it"
        assert session.get(Ad, ad_id).comment_count == 3
    with pytest.raises(Exception, match="Only its author"), session_scope() as session:
        reactions.delete_comment(session, user_id=other.id, comment_id=first.id)
    with session_scope() as session:  # the brand's team may delete; the replies go with it
        reactions.delete_comment(session, user_id=shop.owner.id, comment_id=first.id)
    with session_scope() as session:
        assert [c.id for c in reactions.list_comments(session, ad_id=ad_id)] == [second.id]
        assert session.get(Ad, ad_id).comment_count == 1


def test_share_a_remix_to_schedule_as_a_draft_with_its_media(shop):
    fan = person("Fan")
    remix_id = remix_now(fan, upload(shop, title="Cola"), "sepia")
    fan_team = team_of(fan)
    with session_scope() as session:
        post = threads.share_remix(session, remix_id=remix_id, team_id=fan_team, actor_id=fan.id)
    with session_scope() as session:
        post = session.get(Post, post.id)
        media = session.exec(select(Media).join(PostMedia, PostMedia.media_id == Media.id)
                             .where(PostMedia.post_id == post.id)).all()
    assert post.status == "draft" and post.team_id == fan_team and "Cola" in post.text
    assert len(media) == 1 and media[0].team_id == fan_team and media[0].content_type == "image/jpeg"
    with pytest.raises(NotFound), session_scope() as session:  # someone else's team is not the sharer's to post to
        threads.share_remix(session, remix_id=remix_id, team_id=shop.team_id, actor_id=fan.id)


def test_offline_signals_are_cached_until_new_remixes_arrive(shop):
    fan = person("Fan")
    ad_id = upload(shop)
    remix_now(fan, ad_id, "I love it: sepia and add text \"Happy summer\" at the top")
    remix_now(fan, ad_id, "sepia, vignette")
    remix_now(fan, ad_id, "terrible, make it darker")
    with session_scope() as session:
        data = signals.get_signals(session, brand_id=shop.brand_id)
    assert data["prompts"] == 3
    assert {"label": "sepia", "count": 2} == {k: v for k, v in data["styles"][0].items() if k != "examples"}
    tone = {t["label"]: t["count"] for t in data["tone"]}
    assert tone["positive"] >= 1 and tone["negative"] >= 1
    themes = [t["label"] for t in data["themes"]]
    assert themes[0] == "sepia" and {"happy", "summer", "vignette"} <= set(themes)
    with session_scope() as session:
        session.execute(text("UPDATE remix_signals SET data = '{\"prompts\": 99}'"))
    with session_scope() as session:
        assert signals.get_signals(session, brand_id=shop.brand_id)["prompts"] == 99  # cached
    remix_now(fan, ad_id, "blur")
    with session_scope() as session:
        assert signals.get_signals(session, brand_id=shop.brand_id)["prompts"] == 4  # refreshed


def test_dashboard_tables_csv_and_isolation(shop):
    fan = person("Fan")
    ad_id = upload(shop, title="=HYPERLINK(\"x\")")
    remix_now(fan, ad_id, "sepia")
    with session_scope() as session:
        reactions.set_like(session, user_id=fan.id, ad_id=ad_id)
        frame = dashboard.activity(session, team_id=shop.team_id, user_id=shop.owner.id, days=7)
        assert len(frame) == 7 and frame["remixes"].sum() == 1 and frame["likes"].sum() == 1
        assert frame.iloc[-1]["remixes"] == 1
        csv = dashboard.to_csv(dashboard.table(session, name="ads", team_id=shop.team_id, user_id=shop.owner.id))
        assert "'=HYPERLINK" in csv
        board = dashboard.leaderboard(session, brand_id=shop.brand_id)
        assert board.to_dict("records") == [{"remixer": "Fan", "remixes": 1}]
        rivals = dashboard.competitors(session, team_id=shop.team_id, user_id=shop.owner.id)
        assert list(rivals["brand"]) == ["Acme", "Globex", "Initech"] and rivals.iloc[0]["remixes"] == 1
    with pytest.raises(NotFound), session_scope() as session:
        dashboard.activity(session, team_id=shop.team_id, user_id=fan.id)
