"""Video remixes offline: the ad's first and last frames (ffmpeg), each edited with the same
instructions as an image remix (`edits.py`), joined into a short MP4 with a cross-fade.

The clip is `HOLD_S` seconds of the first edited frame, a `FADE_S` second cross-fade, and
`HOLD_S` seconds of the last: H.264, yuv420p, even frame size, so every platform plays it.
ffmpeg runs on temporary files in a private folder with a timeout; nothing user-named is a path.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from socialhub.ai.base import AIError
from socialhub.remix import assets, edits
from socialhub.remix.brands import BrandLook
from socialhub.remix.providers import Edited

HOLD_S = 2.0
FADE_S = 1.0
FPS = 25
MAX_SIDE = 1280


def first_and_last_frames(video: bytes, extension: str) -> tuple[bytes, bytes]:
    with tempfile.TemporaryDirectory(prefix="remix-video-") as folder:
        path = Path(folder) / f"in.{extension}"
        path.write_bytes(video)
        first = assets.frame_at(path, 0, longest=MAX_SIDE)
        try:
            last = assets.frame_at(path, -0.25, longest=MAX_SIDE)
        except Exception:
            last = first
    return first, last


def make_clip(video: bytes, extension: str, prompt: str, *, brand: BrandLook,
              progress: Callable[[int], None] = lambda p: None) -> Edited:
    """The offline video remix: edited first and last frames with a cross-fade between them."""
    first, last = first_and_last_frames(video, extension)
    progress(35)
    done: list[str] = []
    notes: list[str] = []
    frames = []
    for data in (first, last):
        result = edits.edit_image(assets.open_image(data), prompt, brand)
        done, notes = result.done, result.notes()
        image = assets.rgb(result.image)
        w, h = image.size
        image = image.resize((w - w % 2, h - h % 2)) if (w % 2 or h % 2) else image
        frames.append(image)
    if not done:
        raise AIError(f"The offline editor could not do any part of this prompt. It understands: {edits.HELP}.")
    if frames[1].size != frames[0].size:
        frames[1] = frames[1].resize(frames[0].size)
    progress(55)
    with tempfile.TemporaryDirectory(prefix="remix-clip-") as folder:
        paths = []
        for i, image in enumerate(frames):
            path = Path(folder) / f"f{i}.jpg"
            image.save(path, "JPEG", quality=92)
            paths.append(path)
        out = Path(folder) / "out.mp4"
        length = HOLD_S + FADE_S
        command = [
            assets.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-loop", "1", "-t", f"{length}", "-framerate", str(FPS), "-i", str(paths[0]),
            "-loop", "1", "-t", f"{length}", "-framerate", str(FPS), "-i", str(paths[1]),
            "-filter_complex", f"[0:v][1:v]xfade=transition=fade:duration={FADE_S}:offset={HOLD_S},format=yuv420p[v]",
            "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-movflags", "+faststart", "-an", str(out),
        ]
        run = subprocess.run(command, capture_output=True, timeout=assets.FFMPEG_TIMEOUT_S)
        if run.returncode != 0 or not out.exists():
            raise AIError("The offline video clip could not be made (ffmpeg failed).")
        data = out.read_bytes()
    return Edited(data, "video/mp4", "mp4", notes + ["Done: a cross-fade from the first frame to the last"])


def poster_of(clip: bytes) -> bytes:
    """A thumbnail (WebP) of a made clip: its first frame."""
    with tempfile.TemporaryDirectory(prefix="remix-poster-") as folder:
        path = Path(folder) / "clip.mp4"
        path.write_bytes(clip)
        frame = assets.open_image(assets.frame_at(path, 0, longest=640))
    return assets.encode_webp(assets.fit(frame, 480))
