"""Media for posts: uploads checked by their content, stored through `integrations.storage`.

Invariants:
- The type comes from the bytes (magic numbers), never from the file name or the browser's
  content type: a PNG called photo.jpg is a PNG, an HTML page called cat.png is refused, and
  SVG (which can carry scripts) is not accepted at all.
- Images are opened with Pillow to read their size (which also refuses broken files and
  decompression bombs); MP4/MOV files are parsed for duration and frame size.
- The storage key is random with the extension of the detected type; the uploaded file name is
  kept only as a label, cleaned of paths and control characters.
- Files are handled as streams (videos reach 512 MB): the type is sniffed from the first
  bytes, size and SHA-256 are taken in chunks and the copy stops as soon as the limit is passed,
  Pillow and the MP4 parser read from the file, and storage copies it with ``put_file``.
  Nothing is stored for a file that is refused.
- Per-platform checks (type, size, count, aspect ratio, duration, alt text length) are the
  adapters' (`publishing_content.validate_post`); this module enforces the hard upper bounds.
"""

from __future__ import annotations

from collections.abc import Callable
import hashlib
import io
import re
import struct
import tempfile
from dataclasses import dataclass
from typing import BinaryIO

from sqlmodel import Session, select

from socialhub.core import storage
from socialhub.media.models import Media
from socialhub.identity import teams
from socialhub.core.errors import NotFound, ValidationError

MB = 1024 * 1024
MAX_IMAGE_BYTES = 50 * MB
MAX_VIDEO_BYTES = 512 * MB
MAX_ALT_TEXT = 5000
CHUNK_BYTES = 1024 * 1024
SNIFF_BYTES = 64
MAX_MOOV_BYTES = 64 * MB  # the index box of an MP4 we read into memory to find its duration
_FILENAME_BAD = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]+")


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    kind: str  # image | gif | video
    extension: str


def sniff(data: bytes) -> Sniffed | None:
    """What the bytes are, from their first bytes; None for anything we do not accept."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image/jpeg", "image", "jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image/png", "image", "png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image/gif", "gif", "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image/webp", "image", "webp")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return Sniffed("video/quicktime", "video", "mov")
        if brand in (b"avif", b"avis", b"heic", b"heix", b"mif1"):
            return None  # still images in an ISO box: not supported by most platforms
        return Sniffed("video/mp4", "video", "mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("video/webm", "video", "webm")
    return None


def clean_filename(name: str) -> str:
    """A label from an uploaded file name: no folders, no control characters, at most 200 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _FILENAME_BAD.sub("", name).strip().lstrip(".")
    return name[:200]


def _image_size(data: bytes | BinaryIO, expected: str) -> tuple[int, int]:
    from PIL import Image

    source = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    try:
        with Image.open(source) as image:
            fmt = (image.format or "").lower()
            size = image.size
            image.verify()
    except Exception:  # Pillow raises many kinds for broken or hostile files
        raise ValidationError("This file is not a valid image (it could not be read).") from None
    names = {"image/jpeg": "jpeg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
    if fmt != names[expected]:
        raise ValidationError("This image's content does not match its type.")
    return size


def mp4_info(data: bytes) -> tuple[float | None, int | None, int | None]:
    """(duration in seconds, width, height) from an MP4/MOV's `moov` box; None where unknown."""
    def boxes(buf: bytes, start: int, end: int):
        pos = start
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", buf[pos:pos + 8])
            header = 8
            if size == 1 and pos + 16 <= end:
                size = struct.unpack(">Q", buf[pos + 8:pos + 16])[0]
                header = 16
            elif size == 0:
                size = end - pos
            if size < header or pos + size > end:
                return
            yield kind, pos + header, pos + size
            pos += size

    duration = width = height = None
    for kind, body, end in boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for inner, ibody, iend in boxes(data, body, end):
            if inner == b"mvhd" and iend - ibody >= 20:
                version = data[ibody]
                if version == 1 and iend - ibody >= 32:
                    timescale, length = struct.unpack(">IQ", data[ibody + 20:ibody + 32])
                else:
                    timescale, length = struct.unpack(">II", data[ibody + 12:ibody + 20])
                if timescale:
                    duration = length / timescale
            elif inner == b"trak":
                for leaf, lbody, lend in boxes(data, ibody, iend):
                    if leaf != b"tkhd":
                        continue
                    offset = lbody + (88 if data[lbody] == 1 else 76)  # after the 3x3 matrix
                    if offset + 8 <= lend:
                        w, h = struct.unpack(">II", data[offset:offset + 8])
                        if w and h and width is None:
                            width, height = w >> 16, h >> 16
    return duration, width, height


def mp4_file_info(file: BinaryIO, size: int) -> tuple[float | None, int | None, int | None]:
    """``mp4_info`` for a file: walks the top-level boxes by seeking and reads only `moov`."""
    start = file.tell()
    pos = 0
    while pos + 8 <= size:
        file.seek(start + pos)
        header = file.read(16)
        if len(header) < 8:
            break
        box_size, kind = struct.unpack(">I4s", header[:8])
        header_size = 8
        if box_size == 1 and len(header) == 16:
            box_size, header_size = struct.unpack(">Q", header[8:16])[0], 16
        elif box_size == 0:
            box_size = size - pos
        if box_size < header_size or pos + box_size > size:
            break
        if kind == b"moov":
            if box_size > MAX_MOOV_BYTES:
                break
            file.seek(start + pos)
            return mp4_info(file.read(box_size))
        pos += box_size
    return None, None, None


_REFUSED_TYPE = "Only JPEG, PNG, GIF and WebP images and MP4, MOV and WebM videos can be attached."


def _measure(source: BinaryIO, sink: BinaryIO | None) -> tuple[Sniffed, int, str]:
    """Type, size and SHA-256 of what is left of ``source``, read in chunks (copied to ``sink``
    if given). Stops with ValidationError as soon as the type's size limit is passed."""
    head = source.read(SNIFF_BYTES)
    while head and len(head) < SNIFF_BYTES:  # a raw stream may hand out fewer bytes than asked
        more = source.read(SNIFF_BYTES - len(head))
        if not more:
            break
        head += more
    if not head:
        raise ValidationError("The file is empty.")
    found = sniff(head)
    if found is None:
        raise ValidationError(_REFUSED_TYPE)
    limit = MAX_VIDEO_BYTES if found.kind == "video" else MAX_IMAGE_BYTES
    digest, size, chunk = hashlib.sha256(), 0, head
    while chunk:
        size += len(chunk)
        if size > limit:
            raise ValidationError(f"This file is larger than {limit // MB} MB, the largest {found.kind} SocialHub accepts.")
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
        chunk = source.read(CHUNK_BYTES)
    return found, size, digest.hexdigest()


def upload_media(session: Session, *, team_id: int, actor_id: int, data: bytes | None = None,
                 file: BinaryIO | None = None, filename: str = "", alt_text: str = "") -> Media:
    """Check an uploaded file by its content, store it under a random key and record it.

    Give either ``data`` (bytes, for small files made in memory) or ``file``, a binary file
    object read from its current position (an upload's spooled file: never read whole)."""
    if (data is None) == (file is None):
        raise TypeError("upload_media takes either data or file")
    teams.require_role(session, team_id=team_id, user_id=actor_id, minimum="editor")
    alt = _clean_alt(alt_text)
    if file is None:
        file = io.BytesIO(data)
    if file.seekable():
        return _store(session, file, None, team_id=team_id, actor_id=actor_id, filename=filename, alt=alt)
    with tempfile.TemporaryFile() as spool:  # a pipe or socket: keep a copy to read it twice
        return _store(session, file, spool, team_id=team_id, actor_id=actor_id, filename=filename, alt=alt)


def _store(session: Session, source: BinaryIO, spool: BinaryIO | None, *, team_id: int, actor_id: int,
           filename: str, alt: str) -> Media:
    start = source.tell() if spool is None else 0
    found, size, sha256 = _measure(source, spool)
    file = source if spool is None else spool
    width = height = None
    duration = None
    file.seek(start)
    if found.kind in ("image", "gif"):
        width, height = _image_size(file, found.content_type)
    elif found.content_type in ("video/mp4", "video/quicktime"):
        duration, width, height = mp4_file_info(file, size)
    key = storage.new_media_key(found.extension)
    file.seek(start)
    storage.get_storage().put_file(key, file, found.content_type)
    media = Media(
        team_id=team_id, uploaded_by_id=actor_id, storage_key=key, content_type=found.content_type, kind=found.kind,
        size_bytes=size, width=width, height=height, duration_seconds=duration, alt_text=alt,
        filename=clean_filename(filename), sha256=sha256,
    )
    session.add(media)
    session.flush()
    return media


def _clean_alt(alt_text: str) -> str:
    alt = " ".join((alt_text or "").replace("\x00", "").split())
    if len(alt) > MAX_ALT_TEXT:
        raise ValidationError(f"Alt text can have at most {MAX_ALT_TEXT} characters.")
    return alt


def get_media(session: Session, *, team_id: int, user_id: int, media_id: int, minimum: str = "viewer") -> Media:
    teams.require_role(session, team_id=team_id, user_id=user_id, minimum=minimum)
    media = session.get(Media, media_id)
    if media is None or media.team_id != team_id:
        raise NotFound("This file does not exist or belongs to another team.")
    return media


def set_alt_text(session: Session, *, team_id: int, actor_id: int, media_id: int, alt_text: str) -> Media:
    media = get_media(session, team_id=team_id, user_id=actor_id, media_id=media_id, minimum="editor")
    media.alt_text = _clean_alt(alt_text)
    session.add(media)
    return media


def media_url(media: Media) -> str:
    """Where the page can show the file (a `/media/…` path or a presigned S3 URL)."""
    return storage.get_storage().url(media.storage_key)


# Packages that attach media register a check that says why a file cannot be deleted yet
# (Schedule: a post that is scheduled or published uses it). Media never imports them.
UsageCheck = Callable[[Session, int], "str | None"]
_usage_checks: list[UsageCheck] = []


def on_media_delete(check: UsageCheck) -> None:
    """`check(session, media_id)` returns a reason to refuse the deletion, or None."""
    if check not in _usage_checks:
        _usage_checks.append(check)


def delete_media(session: Session, *, team_id: int, actor_id: int, media_id: int) -> None:
    """Delete an upload that no waiting or published post uses."""
    media = get_media(session, team_id=team_id, user_id=actor_id, media_id=media_id, minimum="editor")
    for check in _usage_checks:
        reason = check(session, media.id)
        if reason:
            raise ValidationError(reason)
    key = media.storage_key
    session.delete(media)
    session.flush()
    storage.get_storage().delete(key)


def check_team_media(session: Session, *, team_id: int, media_ids: list[int]) -> list[Media]:
    """The given media, in order, all belonging to the team."""
    ids = list(dict.fromkeys(media_ids))
    if len(ids) > 20:
        raise ValidationError("A post can have at most 20 media files.")
    rows = {m.id: m for m in session.exec(select(Media).where(Media.id.in_(ids)))} if ids else {}
    out = []
    for media_id in ids:
        media = rows.get(media_id)
        if media is None or media.team_id != team_id:
            raise NotFound("One of the files does not exist or belongs to another team.")
        out.append(media)
    return out

