"""Shared helpers for the Remix tests (no tests here): people with their teams, a brand, images
and videos made on the spot (Pillow, the ffmpeg of imageio-ffmpeg)."""

from __future__ import annotations

import io
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlmodel import select

from socialhub.core.db import session_scope
from socialhub.identity import users
from socialhub.identity.models import Team, TeamMember, User
from socialhub.remix import ads, assets, brands, generate

PASSWORD = "correct horse battery"


def person(name: str) -> User:
    with session_scope() as session:
        return users.sign_up(session, name=name, email=f"{name.lower()}@example.com", password=PASSWORD, verified=True)


def team_of(user: User) -> int:
    with session_scope() as session:
        return session.exec(select(Team.id).where(Team.personal_owner_id == user.id)).one()


def add_member(team_id: int, user: User, role: str) -> None:
    with session_scope() as session:
        session.add(TeamMember(team_id=team_id, user_id=user.id, role=role))


def png(size=(640, 480), color=(200, 80, 40), mode="RGB") -> bytes:
    out = io.BytesIO()
    image = Image.new(mode, size, color)
    for x in range(0, size[0], 16):  # some structure, so blur and sharpen change pixels
        for y in range(0, size[1], 16):
            if (x // 16 + y // 16) % 2:
                image.putpixel((x, y), (255, 255, 255) if mode == "RGB" else 255)
    image.save(out, "PNG")
    return out.getvalue()


def jpeg(size=(640, 480), color=(40, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def make_video(seconds: float = 2, *, size: str = "160x120", rate: str = "10", color: str = "blue") -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "v.mp4"
        subprocess.run([assets.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                        "-i", f"color=c={color}:s={size}:r={rate}", "-t", str(seconds), "-c:v", "libx264",
                        "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)], check=True)
        return out.read_bytes()


@dataclass
class Shop:
    owner: User
    team_id: int
    brand_id: int


def make_shop(name: str = "Acme", *, logo: bytes | None = None, colors: str = "#ff6600, #ffffff") -> Shop:
    owner = person(f"{name}Owner")
    team_id = team_of(owner)
    with session_scope() as session:
        brand = brands.setup_brand(session, team_id=team_id, actor_id=owner.id, name=name, description="We sell things",
                                   colors=colors, competitors="Globex, Initech", logo=logo)
        return Shop(owner, team_id, brand.id)


def upload(shop: Shop, data: bytes | None = None, *, title: str = "Summer sale", tags: str = "summer, sale") -> int:
    with session_scope() as session:
        return ads.upload_ad(session, team_id=shop.team_id, actor_id=shop.owner.id, data=data or png(),
                             title=title, campaign="Q3", location="Berlin", tags=tags).id


def remix_now(user: User, ad_id: int, prompt: str, parent_id: int | None = None) -> int:
    """Request a remix and run the queue until it is made; returns the remix id."""
    with session_scope() as session:
        remix_id = generate.request_remix(session, user_id=user.id, ad_id=ad_id, prompt=prompt, parent_id=parent_id).id
    generate.run_due(worker="test-worker")
    return remix_id


def stored_keys(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
