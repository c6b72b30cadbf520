"""Remix's settings, read from the environment each time they are asked for (cheap, uncached,
so tests and the bench set the same variables operators do).

| variable | default | meaning |
| --- | --- | --- |
| REMIX_MAX_IMAGE_MB | 25 | largest image ad or logo accepted |
| REMIX_MAX_VIDEO_MB | 500 | largest video ad accepted |
| REMIX_MAX_VIDEO_SECONDS | 600 | longest video ad accepted |
| REMIX_MAX_PIXELS | 40000000 | Pillow's decompression-bomb limit for every image opened |
| REMIX_WEB_SIZE | 1600 | longest side of the web copy of an image |
| REMIX_THUMB_SIZE | 480 | longest side of a thumbnail |
| REMIX_MAX_PROMPT | 1000 | characters of a prompt |
| REMIX_CONCURRENT_PER_USER | 3 | queued or running remixes per person |
| REMIX_DAILY_PER_USER | 100 | remixes per person per 24 hours |
| REMIX_LEASE_SECONDS | 120 | a job not finished or renewed in this long is taken again |
| REMIX_MAX_ATTEMPTS | 3 | tries of a job (crashes included) before it fails |
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MB = 1024 * 1024


def _int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "").strip() or default)
    except ValueError:
        return default


@dataclass(frozen=True)
class RemixSettings:
    max_image_bytes: int
    max_video_bytes: int
    max_video_seconds: int
    max_pixels: int
    web_size: int
    thumb_size: int
    max_prompt: int
    concurrent_per_user: int
    daily_per_user: int
    lease_seconds: int
    max_attempts: int


def remix_settings() -> RemixSettings:
    return RemixSettings(
        max_image_bytes=_int("REMIX_MAX_IMAGE_MB", 25) * MB,
        max_video_bytes=_int("REMIX_MAX_VIDEO_MB", 500) * MB,
        max_video_seconds=_int("REMIX_MAX_VIDEO_SECONDS", 600),
        max_pixels=_int("REMIX_MAX_PIXELS", 40_000_000),
        web_size=_int("REMIX_WEB_SIZE", 1600),
        thumb_size=_int("REMIX_THUMB_SIZE", 480),
        max_prompt=_int("REMIX_MAX_PROMPT", 1000),
        concurrent_per_user=_int("REMIX_CONCURRENT_PER_USER", 3),
        daily_per_user=_int("REMIX_DAILY_PER_USER", 100),
        lease_seconds=_int("REMIX_LEASE_SECONDS", 120),
        max_attempts=_int("REMIX_MAX_ATTEMPTS", 3),
    )
