"""Brands: a team sets up how it appears in Remix (name, logo, colours, description, competitors).

Only the team's admins and owners change its brand; anyone signed in may read it. The logo is
checked like any upload (by content, bombs refused) and stored as a PNG of at most 512 px.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from sqlmodel import Session, select

from socialhub.core.errors import NotFound, ValidationError
from socialhub.core.models import utcnow
from socialhub.identity import teams
from socialhub.remix import assets
from socialhub.remix.models import Brand
from socialhub.remix.text import clean

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
MAX_COLORS = 5
MAX_COMPETITORS = 10
DEFAULT_COLORS = ["#1f2937", "#ffffff"]


@dataclass(frozen=True)
class BrandLook:
    """What an edit needs of a brand, as plain values: name, colours (primary first), logo bytes."""

    name: str
    colors: tuple[str, ...]
    logo: bytes | None


def clean_color(value: str) -> str:
    match = _HEX.match((value or "").strip())
    if not match:
        raise ValidationError(f"{(value or '')[:20]!r} is not a colour; use #rrggbb, for example #ff6600.")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def _split(values: list[str] | str | None) -> list[str]:
    if isinstance(values, str):
        values = re.split(r"[,\n]", values)
    return [v.strip() for v in values or [] if v and v.strip()]


def brand_for_team(session: Session, *, team_id: int) -> Brand | None:
    return session.exec(select(Brand).where(Brand.team_id == team_id)).first()


def get_brand(session: Session, *, brand_id: int) -> Brand:
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise NotFound("This brand does not exist.")
    return brand


def list_brands(session: Session) -> list[Brand]:
    return list(session.exec(select(Brand).order_by(Brand.name, Brand.id)))


def setup_brand(session: Session, *, team_id: int, actor_id: int, name: str, description: str = "",
                colors: list[str] | str | None = None, competitors: list[str] | str | None = None,
                logo: bytes | None = None) -> Brand:
    """Create or update the team's brand. A new logo replaces the old one (which is deleted)."""
    teams.require_role(session, team_id=team_id, user_id=actor_id, minimum="admin")
    name = clean(name, limit=100, what="The brand name", required=True)
    description = clean(description, limit=2000, what="The description", one_line=False)
    palette = [clean_color(c) for c in _split(colors)]
    if len(palette) > MAX_COLORS:
        raise ValidationError(f"A brand can have at most {MAX_COLORS} colours.")
    rivals = list(dict.fromkeys(clean(c, limit=100, what="A competitor's name") for c in _split(competitors)))
    if len(rivals) > MAX_COMPETITORS:
        raise ValidationError(f"A brand can name at most {MAX_COMPETITORS} competitors.")
    brand = session.exec(select(Brand).where(Brand.team_id == team_id).with_for_update()).first()
    if brand is None:
        brand = Brand(team_id=team_id, name=name)
    old_logo = ""
    if logo:
        prepared = assets.prepare_upload(logo, allow_video=False)
        image = assets.open_image(prepared.files["original"][0])
        out = io.BytesIO()
        assets.fit(image.convert("RGBA"), 512).save(out, "PNG")
        old_logo = brand.logo_key
        brand.logo_key = assets.store_all({"logo": (out.getvalue(), "image/png", "png")})["logo"]
    brand.name, brand.description = name, description
    brand.colors, brand.competitors = palette or list(DEFAULT_COLORS), rivals
    brand.updated_at = utcnow()
    session.add(brand)
    try:
        session.flush()
    except Exception:
        if logo:
            assets.delete_keys([brand.logo_key])
        raise
    if old_logo:
        assets.delete_keys([old_logo])
    return brand


def brand_look(brand: Brand) -> BrandLook:
    """The brand as plain values for the image edits (the logo read from storage, if any)."""
    logo = None
    if brand.logo_key:
        from socialhub.core import storage

        try:
            logo = storage.get_storage().get(brand.logo_key)
        except FileNotFoundError:
            logo = None
    return BrandLook(brand.name, tuple(brand.colors or DEFAULT_COLORS), logo)
