"""Files of Remix: checking uploads by content, image copies (web size, WebP thumbnail), video
probing and poster frames with ffmpeg, and storing a set of files all-or-nothing.

Invariants:
- The type comes from the bytes (`media.uploads.sniff`), never from the name or the browser.
- Every image is opened with `Image.MAX_IMAGE_PIXELS` set from `REMIX_MAX_PIXELS` and with
  `DecompressionBombWarning` raised as an error, so a bomb is refused before it is decoded.
- Re-encoding drops metadata (EXIF, GPS) and applies the EXIF orientation first.
- Videos are probed by the ffmpeg binary of `imageio-ffmpeg` reading a temporary file (never a
  user-chosen path); a file without a video stream is "not a video"; one longer than
  `REMIX_MAX_VIDEO_SECONDS` is refused before anything is stored.
- `store_all` puts several objects and deletes the ones already put when one fails, so a
  failed upload leaves nothing behind in storage.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from socialhub.core import storage
from socialhub.core.errors import ValidationError
from socialhub.media.uploads import sniff
from socialhub.remix.config import MB, remix_settings

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
FFMPEG_TIMEOUT_S = 120


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class Prepared:
    """An upload checked and turned into the files to store (bytes by role) and what we learnt."""

    kind: str  # image | video
    content_type: str
    extension: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    probe: dict = field(default_factory=dict)
    files: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)  # role → (data, content type, ext)


# ---- images -----------------------------------------------------------------------------------

def open_image(data: bytes, *, expected: str | None = None) -> Image.Image:
    """Decode an image safely (size limit, bombs refused), EXIF-rotated, fully loaded."""
    Image.MAX_IMAGE_PIXELS = remix_settings().max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if expected and image.format != _PIL_FORMATS.get(expected):
                raise ValidationError("This image's content does not match its type.")
            image.seek(0)
            image.load()
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError(
                "This image has too many pixels to open safely "
                f"(the limit is {remix_settings().max_pixels:,} pixels).") from None
        except Exception:  # Pillow raises many kinds for broken or hostile files
            raise ValidationError("This file is not a valid image (it could not be read).") from None
    return ImageOps.exif_transpose(image)


def fit(image: Image.Image, longest: int) -> Image.Image:
    """A copy no larger than `longest` on its longest side (never enlarged)."""
    copy = image.copy()
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS if max(image.size) < 3 * longest else Image.Resampling.BILINEAR)
    return copy


def rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        base = Image.new("RGB", image.size, (255, 255, 255))
        base.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return base
    return image.convert("RGB")


def encode_webp(image: Image.Image, quality: int = 80) -> bytes:
    out = io.BytesIO()
    image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(out, "WEBP", quality=quality, method=2)
    return out.getvalue()


def encode_jpeg(image: Image.Image, quality: int = 88) -> bytes:
    out = io.BytesIO()
    rgb(image).save(out, "JPEG", quality=quality)
    return out.getvalue()


def prepare_image(data: bytes, content_type: str, extension: str) -> Prepared:
    settings = remix_settings()
    image = open_image(data, expected=content_type)
    web = fit(image, settings.web_size)
    thumb = fit(web, settings.thumb_size)
    prepared = Prepared("image", content_type, extension, len(data), width=image.width, height=image.height,
                        probe={"format": image.format or "", "mode": image.mode})
    prepared.files = {
        "original": (data, content_type, extension),
        "web": (encode_webp(web, 85), "image/webp", "webp"),
        "thumb": (encode_webp(thumb), "image/webp", "webp"),
    }
    return prepared


# ---- videos -----------------------------------------------------------------------------------

_DURATION = re.compile(r"Duration:\s*(\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO_STREAM = re.compile(r"Stream #\S+.*?: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})")
_FPS = re.compile(r"([\d.]+) fps")


def probe_video(path: Path) -> dict:
    """Duration, frame size, codec and frame rate as ffmpeg reports them; {} when not a video."""
    try:
        run = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                             capture_output=True, timeout=FFMPEG_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {}
    text = run.stderr.decode("utf-8", "replace")
    stream = _VIDEO_STREAM.search(text)
    if not stream:
        return {}
    info: dict = {"codec": stream.group(1), "width": int(stream.group(2)), "height": int(stream.group(3))}
    duration = _DURATION.search(text)
    if duration:
        hours, minutes, seconds = duration.groups()
        info["duration"] = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    fps = _FPS.search(text[stream.start():])
    if fps:
        info["fps"] = float(fps.group(1))
    return info


def frame_at(path: Path, seconds: float, *, longest: int = 1280) -> bytes:
    """One frame of a video as JPEG bytes (seconds < 0: counted from the end)."""
    position = ["-sseof", f"{seconds:.3f}"] if seconds < 0 else ["-ss", f"{seconds:.3f}"]
    run = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *position, "-i", str(path),
         "-frames:v", "1", "-vf", f"scale='min({longest},iw)':-2", "-f", "image2", "-c:v", "mjpeg", "pipe:1"],
        capture_output=True, timeout=FFMPEG_TIMEOUT_S)
    if run.returncode != 0 or not run.stdout:
        raise ValidationError("A frame could not be read from this video.")
    return run.stdout


def prepare_video(data: bytes, content_type: str, extension: str) -> Prepared:
    settings = remix_settings()
    with tempfile.TemporaryDirectory(prefix="remix-") as folder:
        path = Path(folder) / f"upload.{extension}"
        path.write_bytes(data)
        info = probe_video(path)
        if not info:
            raise ValidationError("This file is not a video SocialHub can read (no video stream was found).")
        duration = info.get("duration") or 0.0
        if duration > settings.max_video_seconds:
            raise ValidationError(
                f"This video is {_clock(duration)} long; the longest video ad is {_clock(settings.max_video_seconds)}.")
        poster = open_image(frame_at(path, min(1.0, duration / 2)))
    prepared = Prepared("video", content_type, extension, len(data), width=info["width"], height=info["height"],
                        duration_seconds=duration or None, probe=info)
    prepared.files = {
        "original": (data, content_type, extension),
        "poster": (encode_jpeg(poster), "image/jpeg", "jpg"),
        "thumb": (encode_webp(fit(poster, remix_settings().thumb_size)), "image/webp", "webp"),
    }
    return prepared


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


# ---- checking an upload -----------------------------------------------------------------------

def prepare_upload(data: bytes, *, allow_video: bool = True) -> Prepared:
    """Check an upload by content and limits and make its copies; nothing is stored yet."""
    if not data:
        raise ValidationError("The file is empty.")
    found = sniff(data)
    accepted = IMAGE_TYPES + (VIDEO_TYPES if allow_video else ())
    if found is None or found.content_type not in accepted:
        raise ValidationError("Only JPEG, PNG, WebP and GIF images" + (" and MP4, WebM and MOV videos" if allow_video else "")
                              + " can be uploaded; this file is something else.")
    settings = remix_settings()
    video = found.content_type in VIDEO_TYPES
    limit = settings.max_video_bytes if video else settings.max_image_bytes
    if len(data) > limit:
        raise ValidationError(f"This file is {len(data) / MB:.1f} MB; the largest {'video' if video else 'image'} "
                              f"accepted is {limit // MB} MB.")
    if video:
        return prepare_video(data, found.content_type, found.extension)
    return prepare_image(data, found.content_type, found.extension)


# ---- storing ----------------------------------------------------------------------------------

def store_all(files: dict[str, tuple[bytes, str, str]]) -> dict[str, str]:
    """Put each file under a new random key; all or nothing. Returns role → key."""
    store = storage.get_storage()
    keys: dict[str, str] = {}
    try:
        for role, (data, content_type, extension) in files.items():
            key = storage.new_media_key(extension)
            store.put(key, data, content_type)
            keys[role] = key
    except BaseException:
        delete_keys(keys.values())
        raise
    return keys


def delete_keys(keys) -> None:
    store = storage.get_storage()
    for key in keys:
        if key:
            try:
                store.delete(key)
            except Exception:  # cleanup is best effort; a missing object is fine
                pass


def url(key: str) -> str:
    return storage.get_storage().url(key) if key else ""
