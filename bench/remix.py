"""Remix benchmark: N image remixes of a 2048×2048 ad through the job queue, plus one video remix.

    python -m bench.remix --remixes 50 --json OUT

In a scratch database: a brand uploads a 2048×2048 JPEG ad and a 10-second 1280×720 video ad;
N image remixes (the offline `local` editor, several instructions each) and one video remix are
queued; a separate worker process claims and makes them (`generate.run_due`) and reports each
job's seconds. Printed last (JSON): `remixes`, `median_s`, `p95_s` (seconds per image remix),
`peak_rss_mb` (the worker process's peak resident memory; `ffmpeg_peak_rss_mb` is its largest
ffmpeg child's), `video_s` (the video remix).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from bench.common import percentile, report, scratch_database

PROMPTS = [
    'sepia, vignette, add text "Summer sale" at the top, crop to 4:5',
    "black and white, more contrast, sharpen",
    "warmer, brighter, saturate, crop to 1:1",
    'cooler, add text "New!" at the bottom, blur',
]


def _ad_image() -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    gradient = np.linspace(0, 255, 2048, dtype=np.float32)
    base = np.stack([np.add.outer(gradient, gradient) / 2, np.tile(gradient, (2048, 1)), np.tile(gradient[:, None], (1, 2048))], -1)
    noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype("uint8")
    out = io.BytesIO()
    Image.fromarray(noisy, "RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def _ad_video() -> bytes:
    from socialhub.remix.assets import ffmpeg_exe

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "ad.mp4")
        subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=1280x720:rate=25",
                        "-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", path], check=True)
        with open(path, "rb") as fh:
            return fh.read()


def setup(n: int) -> None:
    from socialhub.core.db import session_scope
    from socialhub.identity import users
    from socialhub.identity.models import Team
    from socialhub.remix import ads, brands, generate
    from sqlmodel import select

    with session_scope() as session:
        owner = users.sign_up(session, name="Bench Brand", email="brand@bench.example", password="bench password 1",
                              verified=True)
        fan = users.sign_up(session, name="Bench Fan", email="fan@bench.example", password="bench password 1",
                            verified=True)
        team_id = session.exec(select(Team.id).where(Team.personal_owner_id == owner.id)).one()
        brands.setup_brand(session, team_id=team_id, actor_id=owner.id, name="Bench", colors="#ff6600, #ffffff")
    with session_scope() as session:
        image_ad = ads.upload_ad(session, team_id=team_id, actor_id=owner.id, data=_ad_image(), title="Big ad").id
        video_ad = ads.upload_ad(session, team_id=team_id, actor_id=owner.id, data=_ad_video(), title="Video ad").id
    with session_scope() as session:
        for i in range(n):
            generate.request_remix(session, user_id=fan.id, ad_id=image_ad, prompt=PROMPTS[i % len(PROMPTS)])
    with session_scope() as session:
        generate.request_remix(session, user_id=owner.id, ad_id=video_ad, prompt='sepia, add text "Ten seconds" at the top')


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not `ru_maxrss`: Linux carries that over `exec`
    from the parent, so the worker would report the set-up's peak as its own."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker() -> int:
    """Claim and make every queued remix, one at a time; print each job's seconds as JSON."""
    from socialhub.core.db import session_scope
    from socialhub.remix import generate

    timings: dict[str, list[float]] = {"image": [], "video": []}
    while True:
        with session_scope() as session:
            claimed = generate.claim_jobs(session, worker="bench", limit=1)
            kinds = {remix_id: session.get(generate.Remix, remix_id).kind for _, remix_id, _ in claimed}
        if not claimed:
            break
        for job_id, remix_id, attempts in claimed:
            started = time.perf_counter()
            status = generate.run_job(job_id, remix_id, attempts, worker="bench")
            if status != "done":
                print(f"remix {remix_id} ended {status}", file=sys.stderr)
                continue
            timings[kinds[remix_id]].append(time.perf_counter() - started)
    peak_mb = _peak_rss_mb()
    print(json.dumps({**timings, "peak_rss_mb": peak_mb, "ffmpeg_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--remixes", type=int, default=50)
    parser.add_argument("--json", dest="out", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker()
    os.environ["REMIX_CONCURRENT_PER_USER"] = str(args.remixes + 5)
    os.environ["REMIX_DAILY_PER_USER"] = str(args.remixes + 5)
    with tempfile.TemporaryDirectory(prefix="bench-remix-") as data_dir, scratch_database("sh_bench_remix"):
        os.environ["SOCIALHUB_DATA_DIR"] = data_dir
        from socialhub.core import config, storage

        config.get_settings.cache_clear()
        storage.get_storage.cache_clear()
        setup(args.remixes)
        run = subprocess.run([sys.executable, "-m", "bench.remix", "--worker"], stdout=subprocess.PIPE, text=True,
                             env=os.environ.copy(), check=True)
        timings = json.loads(run.stdout.strip().splitlines()[-1])
    images = timings["image"]
    return report({
        "remixes": len(images),
        "median_s": round(statistics.median(images), 4) if images else None,
        "p95_s": round(percentile(images, 95), 4) if images else None,
        "peak_rss_mb": round(timings["peak_rss_mb"], 1),  # the worker process itself
        "ffmpeg_peak_rss_mb": round(timings["ffmpeg_peak_rss_mb"], 1),  # its largest ffmpeg child
        "video_s": round(timings["video"][0], 3) if timings["video"] else None,
    }, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
