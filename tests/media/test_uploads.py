"""Media uploads: types come from the bytes, sizes and durations are read, names are only labels,
and each platform's own limits are checked before scheduling."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image
from sqlmodel import select

from socialhub.core.storage import get_storage
from socialhub.media.models import Media
from socialhub.schedule import content, posts, reading
from socialhub.media import uploads
from socialhub.core.errors import NotFound, PermissionDenied, ValidationError
from tests.fakes.platforms.bluesky import FakeBlueskyServer
from tests.schedule.support import (  # noqa: F401  (fixtures)
    bluesky_account,
    crew,
    fast_publishing,
    hub_account,
    make_crew,
)


def image_bytes(fmt: str, size=(40, 30), frames: int = 1) -> bytes:
    buffer = io.BytesIO()
    first = Image.new("RGB", size, (200, 40, 40))
    if frames > 1:
        first.save(buffer, format=fmt, save_all=True, append_images=[Image.new("RGB", size, (0, 0, 0))] * (frames - 1))
    else:
        first.save(buffer, format=fmt)
    return buffer.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(*, seconds: float = 12.5, width: int = 1280, height: int = 720) -> bytes:
    """A minimal MP4: ftyp, and moov with mvhd (duration) and one trak whose tkhd has the frame size."""
    timescale = 1000
    mvhd = box(b"mvhd", bytes(4) + struct.pack(">IIII", 0, 0, timescale, int(seconds * timescale)) + bytes(80))
    tkhd = box(b"tkhd", bytes(4) + struct.pack(">IIIII", 0, 0, 1, 0, int(seconds * timescale)) + bytes(8)
               + bytes(8) + bytes(36) + struct.pack(">II", width << 16, height << 16))
    moov = box(b"moov", mvhd + box(b"trak", tkhd))
    return box(b"ftyp", b"isom" + bytes(4) + b"isomiso2mp41") + moov + box(b"mdat", bytes(64))


def upload(session, crew, data: bytes, filename: str = "file", alt: str = "") -> Media:
    media = uploads.upload_media(session, team_id=crew.team.id, actor_id=crew.editor.id, data=data,
                                          filename=filename, alt_text=alt)
    session.commit()
    return media


def test_images_are_typed_by_content_and_measured(session, crew):
    png_named_jpg = upload(session, crew, image_bytes("PNG", (64, 48)), "photo.jpg", "A red square")
    assert (png_named_jpg.content_type, png_named_jpg.kind, png_named_jpg.width, png_named_jpg.height) == ("image/png", "image", 64, 48)
    assert png_named_jpg.storage_key.endswith(".png") and png_named_jpg.filename == "photo.jpg"
    assert get_storage().get(png_named_jpg.storage_key)[:8] == b"\x89PNG\r\n\x1a\n"
    assert upload(session, crew, image_bytes("JPEG")).content_type == "image/jpeg"
    assert upload(session, crew, image_bytes("WEBP")).content_type == "image/webp"
    assert upload(session, crew, image_bytes("GIF", frames=3)).kind == "gif"


def test_videos_are_typed_and_their_duration_and_size_read(session, crew):
    video = upload(session, crew, mp4_bytes(seconds=12.5, width=1280, height=720), "clip.mov")
    assert (video.content_type, video.kind) == ("video/mp4", "video")
    assert video.duration_seconds == pytest.approx(12.5) and (video.width, video.height) == (1280, 720)


class ChunkOnlyReader(io.BytesIO):
    """An upload's file that refuses to be read whole: the upload must stream it."""

    def read(self, size=-1):
        if size is None or size < 0 or size > 16 * uploads.MB:
            raise AssertionError(f"read({size}) would load the whole file into memory")
        return super().read(size)


class PipeReader(ChunkOnlyReader):
    """A file object that cannot seek (a pipe or socket)."""

    def seekable(self):
        return False

    def seek(self, *args):
        raise io.UnsupportedOperation("seek")


def stored_files():
    root = get_storage().root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_large_video_is_streamed_from_its_file_hashed_and_measured(session, crew):
    import hashlib

    small = mp4_bytes(seconds=30, width=1920, height=1080)
    ftyp, moov = small[:28], small[28:-72]
    # As cameras write them: 20 MB of frames first, the index (moov) at the end.
    data = ftyp + struct.pack(">I", 8 + 20 * uploads.MB) + b"mdat" + bytes(20 * uploads.MB) + moov
    media = uploads.upload_media(session, team_id=crew.team.id, actor_id=crew.editor.id,
                                 file=ChunkOnlyReader(data), filename="big.mp4")
    assert (media.kind, media.size_bytes, media.sha256) == ("video", len(data), hashlib.sha256(data).hexdigest())
    assert media.duration_seconds == pytest.approx(30) and (media.width, media.height) == (1920, 1080)
    assert get_storage().path(media.storage_key).stat().st_size == len(data)


def test_an_image_from_a_file_that_cannot_seek_is_checked_and_stored(session, crew):
    data = image_bytes("PNG", (64, 48))
    media = uploads.upload_media(session, team_id=crew.team.id, actor_id=crew.editor.id, file=PipeReader(data))
    assert (media.width, media.height, media.size_bytes) == (64, 48, len(data))
    assert get_storage().get(media.storage_key) == data
    with pytest.raises(ValidationError, match="not a valid image"):
        uploads.upload_media(session, team_id=crew.team.id, actor_id=crew.editor.id,
                             file=PipeReader(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20))


@pytest.mark.parametrize("reader", [ChunkOnlyReader, PipeReader])
def test_an_upload_over_the_limit_is_refused_while_copying_and_leaves_no_file(session, crew, monkeypatch, reader):
    monkeypatch.setattr(uploads, "MAX_VIDEO_BYTES", 3 * uploads.MB)
    before = stored_files()
    source = reader(mp4_bytes() + bytes(5 * uploads.MB))
    with pytest.raises(ValidationError, match="larger than 3 MB"):
        uploads.upload_media(session, team_id=crew.team.id, actor_id=crew.editor.id, file=source)
    assert source.tell() < 5 * uploads.MB, "kept reading past the limit"
    assert stored_files() == before
    assert session.exec(select(Media)).all() == []


@pytest.mark.parametrize("data, name", [
    (b"<!DOCTYPE html><script>alert(1)</script>", "cat.png"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.svg"),
    (b"%PDF-1.7 a document", "photo.jpg"),
    (b"MZ\x90\x00 an executable", "video.mp4"),
    (b"", "empty.png"),
])
def test_files_that_are_not_images_or_videos_are_refused_whatever_their_name(session, crew, data, name):
    with pytest.raises(ValidationError):
        upload(session, crew, data, name)


def test_a_broken_image_with_valid_magic_bytes_is_refused(session, crew):
    with pytest.raises(ValidationError, match="not a valid image"):
        upload(session, crew, b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "broken.png")


def test_path_tricks_in_file_names_never_reach_storage(session, crew):
    media = upload(session, crew, image_bytes("PNG"), "../../etc/passwd\x00.png")
    assert media.filename == "passwd.png"
    assert ".." not in media.storage_key and "passwd" not in media.storage_key
    media = upload(session, crew, image_bytes("PNG"), "C:\\Windows\\system32\\evil<>.png")
    assert media.filename == "evil.png"
    assert uploads.clean_filename("....hidden") == "hidden"


def test_alt_text_is_kept_and_limited(session, crew):
    media = upload(session, crew, image_bytes("PNG"), alt="  A   red\nsquare ")
    assert media.alt_text == "A red square"
    with pytest.raises(ValidationError, match="Alt text"):
        uploads.set_alt_text(session, team_id=crew.team.id, actor_id=crew.editor.id, media_id=media.id, alt_text="x" * 6000)


def test_viewers_cannot_upload_and_other_teams_cannot_use_or_read_our_media(session, crew):
    with pytest.raises(PermissionDenied):
        uploads.upload_media(session, team_id=crew.team.id, actor_id=crew.viewer.id, data=image_bytes("PNG"))
    media = upload(session, crew, image_bytes("PNG"))
    other = make_crew(session, "Other", prefix="O")
    with pytest.raises(NotFound):
        posts.create_post(session, team_id=other.team.id, author_id=other.owner.id, text="x", media_ids=[media.id])
    with pytest.raises(NotFound):
        uploads.get_media(session, team_id=other.team.id, user_id=other.owner.id, media_id=media.id)


def test_platform_media_limits_are_checked_before_scheduling(session, crew):
    with FakeBlueskyServer() as server:
        account = bluesky_account(session, crew, server)
        big = upload(session, crew, image_bytes("PNG", (1800, 1800)))
        big.size_bytes = 2_000_000  # over Bluesky's 1 MB per image
        session.add(big)
        images = [upload(session, crew, image_bytes("PNG")) for _ in range(4)]
        video = upload(session, crew, mp4_bytes(seconds=400))
        post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="pics",
                                      account_ids=[account.id], media_ids=[big.id, *[m.id for m in images]])
        session.commit()
        [problems] = content.validate_post(session, team_id=crew.team.id, user_id=crew.owner.id, post_id=post.id).values()
        text = " ".join(problems)
        assert "5 media files; Bluesky allows 4" in text and "1.9 MB; Bluesky allows 1 MB" in text
        posts.update_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, media_ids=[video.id])
        session.commit()
        [problems] = content.validate_post(session, team_id=crew.team.id, user_id=crew.owner.id, post_id=post.id).values()
        assert any("400 s; Bluesky allows 180 s" in p for p in problems)


def test_media_in_use_by_a_scheduled_post_cannot_be_deleted(session, crew):
    from datetime import timedelta

    from socialhub.core.models import utcnow
    from socialhub.schedule import timing

    hub = hub_account(session, crew)
    media = upload(session, crew, image_bytes("PNG"), alt="a square")
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="with image",
                                  account_ids=[hub.id], media_ids=[media.id])
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, when=utcnow() + timedelta(hours=1))
    session.commit()
    with pytest.raises(ValidationError, match="scheduled or published"):
        uploads.delete_media(session, team_id=crew.team.id, actor_id=crew.editor.id, media_id=media.id)
    detail = reading.get_post(session, team_id=crew.team.id, user_id=crew.viewer.id, post_id=post.id)
    assert detail.media[0].url.startswith("/media/") and detail.media[0].alt_text == "a square"
