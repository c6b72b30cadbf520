"""The Remix pages' state handlers, called directly: gallery load, sort, search, likes and
upload; the ad page's remix, live progress, comments, compare and share; the brand page's
setup, signals and CSV — and that signed-out browsers and other teams get nothing."""

from __future__ import annotations

import asyncio
import base64
from collections import defaultdict

import pytest
from sqlmodel import select

from socialhub.core.db import session_scope
from socialhub.remix import generate
from socialhub.remix.models import Ad, Brand, Remix
from socialhub.remix.state.ad import RemixAdState
from socialhub.remix.state.brand import RemixBrandState
from socialhub.remix.state.gallery import RemixGalleryState
from socialhub.schedule.models import Post
from socialhub.ui import clients
from tests.schedule.test_state import FakeUpload
from tests.identity.test_state import as_list, login_token, make_state, redirect_target, spec_kind
from tests.remix.support import person, png, remix_now, upload


@pytest.fixture(autouse=True)
def fresh_clients(monkeypatch):
    monkeypatch.setattr(clients, "_clients", defaultdict(set))


def gallery(user, **kw):
    state = make_state(RemixGalleryState, token=login_token(user), path="/remix", **kw)
    state.load()
    return state


def test_gallery_lists_sorts_searches_and_likes(shop):
    upload(shop, title="Alpha", tags="summer")
    upload(shop, title="<b>Beta</b>", tags="winter")
    fan = person("Fan")
    state = gallery(fan)
    assert [c["title"] for c in state.cards] == ["<b>Beta</b>", "Alpha"]  # text, rendered as text
    assert state.can_upload is False and state.brand_options == [[str(shop.brand_id), "Acme"]]
    state.search({"query": "alp", "brand": "", "tag": "", "kind": ""})
    assert [c["title"] for c in state.cards] == ["Alpha"]
    state.clear_filters()
    state.toggle_like(state.cards[1]["id"])
    assert state.cards[1]["liked"] == "1" and state.cards[1]["likes"] == "1"
    state.set_sort("liked")
    assert [c["title"] for c in state.cards] == ["Alpha", "<b>Beta</b>"]


def test_gallery_upload_by_the_brand_and_refusals_shown(shop):
    state = gallery(shop.owner)
    assert state.can_upload is True
    state.set_upload_field("title", "New ad")
    asyncio.run(state.upload([FakeUpload("x.png", b"<html>not an image</html>")]))
    assert "something else" in state.upload_error
    result = asyncio.run(state.upload([FakeUpload("ad.png", png())]))
    assert state.upload_error == "" and [c["title"] for c in state.cards] == ["New ad"]
    assert "_call_function" in [spec_kind(s) for s in as_list(result)]


def test_signed_out_browser_is_sent_to_sign_in(shop):
    state = make_state(RemixGalleryState, path="/remix")
    assert redirect_target(state.load()).startswith("/signin")
    assert state.cards == []


def test_ad_page_remix_with_live_progress_comment_compare_and_share(shop):
    ad_id = upload(shop, title="Cola")
    fan = person("Fan")
    state = make_state(RemixAdState, token=login_token(fan), path="/remix/ad", query={"ad": str(ad_id)})
    state.load()
    assert state.ad["title"] == "Cola" and state.brand["name"] == "Acme" and state.colors == ["#ff6600", "#ffffff"]
    state.set_prompt("sepia")
    state.submit_remix()
    assert state.error == "" and [r["status"] for r in state.tree] == ["queued"]
    generate.run_due(worker="w")
    first = state.tree[0]["id"]
    state._on_remix_event({"ad_id": ad_id, "status": "done", "remix_id": int(first)})  # what the listener calls
    assert state.tree[0]["status"] == "done" and state.tree[0]["thumb"] and state.ad["remixes"] == "1"
    state.remix_from(first)
    state.set_prompt("sepia, crop to 1:1")
    state.submit_remix()
    generate.run_due(worker="w")
    state.load()
    assert [(r["depth"], r["added"]) for r in state.tree] == [("0", "sepia"), ("1", ", crop to 1:1")]
    state.pick_compare(state.tree[0]["id"])
    state.pick_compare(state.tree[1]["id"])
    assert state.comparison["left_prompt"] == "sepia" and {"op": "+", "text": ", crop to 1:1"} in state.comparison_diff
    state.add_comment({"body": "Nice <i>one</i>"})
    state.reply(state.comments[0]["id"])
    state.add_comment({"body": "Thanks"})
    assert [(c["body"], c["depth"]) for c in state.comments] == [("Nice <i>one</i>", "0"), ("Thanks", "1")]
    result = state.share(state.tree[1]["id"])
    assert redirect_target(result).startswith("/schedule/compose?post=")
    with session_scope() as session:
        assert session.exec(select(Post.status)).all() == ["draft"]


def test_ad_page_refusals_are_shown_not_raised(shop, monkeypatch):
    monkeypatch.setenv("REMIX_MAX_PROMPT", "10")
    ad_id = upload(shop)
    fan = person("Fan")
    state = make_state(RemixAdState, token=login_token(fan), path="/remix/ad", query={"ad": str(ad_id)})
    state.load()
    state.set_prompt("sepia sepia sepia")
    state.submit_remix()
    assert "at most 10 characters" in state.error and state.tree == []
    state.delete_ad()  # not the brand's
    with session_scope() as session:
        assert session.get(Ad, ad_id) is not None
    missing = make_state(RemixAdState, token=login_token(fan), path="/remix/ad", query={"ad": "999"})
    missing.load()
    assert "does not exist" in missing.missing


def test_remix_events_for_another_ad_change_nothing(shop):
    ad_id, other = upload(shop), upload(shop, title="Other")
    fan = person("Fan")
    state = make_state(RemixAdState, token=login_token(fan), path="/remix/ad", query={"ad": str(ad_id)})
    state.load()
    remix_now(fan, other, "sepia")
    state._on_remix_event({"ad_id": other, "status": "done"})
    assert state.tree == []


def test_brand_page_setup_signals_and_csv(database_url):
    owner = person("Owner")
    state = make_state(RemixBrandState, token=login_token(owner), path="/remix/brand")
    state.load()
    assert state.has_brand is False and state.can_edit is True
    state.save({"name": "Owner Co", "description": "Hi", "colors": "#123456", "competitors": "Rival"})
    assert state.has_brand and state.error == ""
    with session_scope() as session:
        brand = session.exec(select(Brand)).one()
    assert brand.colors == ["#123456"] and brand.competitors == ["Rival"]
    asyncio.run(state.upload_logo([FakeUpload("logo.png", png((300, 300)))]))
    assert state.logo.startswith("/media/")
    state.save({"name": "", "colors": "", "competitors": ""})
    assert state.error == "The brand name is required."
    fan = person("Fan")
    from tests.remix.support import Shop

    ad_id = upload(Shop(owner, brand.team_id, brand.id))
    remix_now(fan, ad_id, "I love this, sepia")
    state.refresh_signals()
    assert any(r["label"] == "sepia" for r in state.signal_rows) and "offline" in state.signal_note
    result = state.export_csv("remixers")
    url = dict((str(k), getattr(v, "_var_value", v)) for k, v in as_list(result)[0].args)["url"]
    assert base64.b64decode(url.split("base64,", 1)[1]).decode() == "remixer,remixes\nFan,1\n"
    stranger = make_state(RemixBrandState, token=login_token(fan), path="/remix/brand")
    stranger.load()
    assert stranger.has_brand is False  # Fan's own team has no brand; Owner Co's data is not shown
    _ = Remix
