"""Uploading ads: copies made, videos probed, and every hostile upload refused with a clear
message and nothing stored (no row, no object); only the brand's team changes its ads."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image
from sqlmodel import select

from socialhub.core.db import session_scope
from socialhub.core.errors import NotFound, PermissionDenied, ValidationError
from socialhub.core import storage
from socialhub.remix import ads, brands
from socialhub.remix.models import Ad, Brand
from tests.remix.support import add_member, jpeg, make_shop, make_video, person, png, stored_keys, upload


def media_root():
    from socialhub.core.config import get_settings

    return get_settings().media_dir


def test_image_upload_stores_original_web_copy_and_webp_thumbnail(shop, monkeypatch):
    monkeypatch.setenv("REMIX_WEB_SIZE", "800")
    ad_id = upload(shop, png((2000, 1000)))
    with session_scope() as session:
        ad = session.get(Ad, ad_id)
        assert (ad.kind, ad.width, ad.height, ad.tags) == ("image", 2000, 1000, ["summer", "sale"])
        web = Image.open(io.BytesIO(storage.get_storage().get(ad.web_key)))
        thumb = storage.get_storage().get(ad.thumb_key)
    assert web.size == (800, 400) and web.format == "WEBP"
    assert thumb[:4] == b"RIFF" and thumb[8:12] == b"WEBP"
    assert Image.open(io.BytesIO(thumb)).size == (480, 240)


def test_video_upload_is_probed_and_gets_a_poster(shop):
    ad_id = upload(shop, make_video(3))
    with session_scope() as session:
        ad = session.get(Ad, ad_id)
    assert ad.kind == "video" and ad.content_type == "video/mp4"
    assert ad.probe["codec"] == "h264" and (ad.width, ad.height) == (160, 120)
    assert 2.5 < ad.duration_seconds < 3.5
    poster = Image.open(io.BytesIO(storage.get_storage().get(ad.poster_key)))
    assert poster.format == "JPEG" and poster.size == (160, 120)


def _bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (6000, 6000)).save(out, "PNG")  # tiny file, 36 million pixels
    return out.getvalue()


def _ten_hour_video() -> bytes:
    import subprocess, tempfile  # noqa: E401
    from pathlib import Path
    from socialhub.remix.assets import ffmpeg_exe

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "long.mp4"
        subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=red:s=32x32:r=1/3600",
                        "-t", "36000", "-c:v", "libx264", "-preset", "ultrafast", str(out)], check=True)
        return out.read_bytes()


HOSTILE = {
    "empty": (lambda: b"", "The file is empty."),
    "html_named_png": (lambda: b"<html><script>alert(1)</script></html>", "can be uploaded; this file is something else"),
    "corrupt_png": (lambda: png()[:40] + b"\x00" * 500, "not a valid image"),
    "jpeg_header_png_body": (lambda: b"\xff\xd8\xff" + png()[3:], "not a valid image"),
    "bomb": (_bomb, "too many pixels"),
    "not_a_video": (lambda: b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000), "not a video"),
    "ten_hours": (_ten_hour_video, "10:00:00 long"),
    "svg": (lambda: b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "something else"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_upload_is_refused_clearly_and_leaves_nothing(shop, case, monkeypatch):
    monkeypatch.setenv("REMIX_MAX_PIXELS", "20000000")
    make, message = HOSTILE[case]
    before = stored_keys(media_root())
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")), session_scope() as session:
        ads.upload_ad(session, team_id=shop.team_id, actor_id=shop.owner.id, data=make(), title="Bad")
    assert stored_keys(media_root()) == before
    with session_scope() as session:
        assert session.exec(select(Ad)).all() == []


def test_over_the_size_limit_is_refused(shop, monkeypatch):
    monkeypatch.setenv("REMIX_MAX_IMAGE_MB", "1")
    noise = io.BytesIO()
    Image.frombytes("RGB", (900, 900), os.urandom(900 * 900 * 3)).save(noise, "PNG")
    before = stored_keys(media_root())
    with pytest.raises(ValidationError, match=r"the largest image accepted is 1 MB"), session_scope() as session:
        ads.upload_ad(session, team_id=shop.team_id, actor_id=shop.owner.id, data=noise.getvalue(), title="Big")
    assert stored_keys(media_root()) == before


def test_a_storage_failure_midway_deletes_the_files_already_stored(shop, monkeypatch):
    before = stored_keys(media_root())
    real_put = storage.LocalStorage.put
    calls = []

    def flaky_put(self, key, data, content_type):
        calls.append(key)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_put(self, key, data, content_type)

    monkeypatch.setattr(storage.LocalStorage, "put", flaky_put)
    with pytest.raises(OSError), session_scope() as session:
        ads.upload_ad(session, team_id=shop.team_id, actor_id=shop.owner.id, data=png(), title="Half")
    assert len(calls) == 3
    assert stored_keys(media_root()) == before
    with session_scope() as session:
        assert session.exec(select(Ad)).all() == []


def test_titles_with_html_are_stored_as_text_and_tags_cleaned(shop):
    ad_id = upload(shop, jpeg(), title="<b>Sale</b>\x00 now", tags="#Summer, <script>, summer")
    with session_scope() as session:
        ad = session.get(Ad, ad_id)
    assert ad.title == "<b>Sale</b> now" and ad.tags == ["summer", "script"]


def test_viewers_cannot_upload_and_other_teams_cannot_delete(shop):
    viewer, stranger = person("Vera"), person("Stan")
    add_member(shop.team_id, viewer, "viewer")
    with pytest.raises(PermissionDenied), session_scope() as session:
        ads.upload_ad(session, team_id=shop.team_id, actor_id=viewer.id, data=png(), title="No")
    ad_id = upload(shop)
    with pytest.raises(NotFound), session_scope() as session:
        ads.delete_ad(session, ad_id=ad_id, actor_id=stranger.id)
    with session_scope() as session:
        ads.delete_ad(session, ad_id=ad_id, actor_id=shop.owner.id)
    with session_scope() as session:
        assert session.get(Ad, ad_id) is None


def test_brand_setup_needs_an_admin_and_checks_colours(database_url):
    owner, editor = person("Olga"), person("Ed")
    from tests.remix.support import team_of

    team_id = team_of(owner)
    add_member(team_id, editor, "editor")
    with pytest.raises(PermissionDenied), session_scope() as session:
        brands.setup_brand(session, team_id=team_id, actor_id=editor.id, name="Nope")
    with pytest.raises(ValidationError, match="is not a colour"), session_scope() as session:
        brands.setup_brand(session, team_id=team_id, actor_id=owner.id, name="Olga Co", colors="red")
    with session_scope() as session:
        brand = brands.setup_brand(session, team_id=team_id, actor_id=owner.id, name="Olga Co", colors="#F60, #000000",
                                   competitors="A, B, A", logo=png((1000, 1000), (0, 0, 0, 0), "RGBA"))
    with session_scope() as session:
        brand = session.get(Brand, brand.id)
        assert brand.colors == ["#ff6600", "#000000"] and brand.competitors == ["A", "B"]
        logo = Image.open(io.BytesIO(storage.get_storage().get(brand.logo_key)))
    assert logo.format == "PNG" and logo.size == (512, 512) and logo.mode == "RGBA"


def test_an_ad_needs_a_brand_first(database_url):
    owner = person("Nobrand")
    from tests.remix.support import team_of

    with pytest.raises(ValidationError, match="Set up your brand first"), session_scope() as session:
        ads.upload_ad(session, team_id=team_of(owner), actor_id=owner.id, data=png(), title="x")


def test_another_teams_ads_cannot_be_edited(shop):
    other = make_shop("Globex")
    ad_id = upload(shop)
    with pytest.raises(NotFound), session_scope() as session:
        ads.update_ad(session, ad_id=ad_id, actor_id=other.owner.id, title="Hijacked")
