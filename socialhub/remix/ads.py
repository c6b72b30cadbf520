"""Ads: a brand's members upload and delete them; anyone signed in lists, searches and opens them.

- `upload_ad` checks the file (`assets.prepare_upload`: content type, limits, bombs, probing),
  makes its copies, stores them all-or-nothing and records the ad. A failure at any step leaves
  no row and no object behind.
- `list_ads` sorts by newest, most remixed, most liked or trending (remixes in the last 24 h),
  filters by brand, tag and type, searches title, campaign, location, tags and brand name, and
  pages by keyset: the cursor is the last row's (sort value, id), so a page never repeats or
  skips rows that were already shown because others were added meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, literal, or_, tuple_
from sqlmodel import Session, select

from socialhub.core.errors import NotFound, ValidationError
from socialhub.core.models import utcnow
from socialhub.identity import teams
from socialhub.remix import assets
from socialhub.remix.brands import brand_for_team
from socialhub.remix.models import Ad, Brand, Remix, RemixLike
from socialhub.remix.text import clean, clean_tags

SORTS = ("newest", "remixed", "liked", "trending")
KINDS = ("image", "video")
PAGE_SIZE = 24
TRENDING_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class AdCard:
    id: int
    title: str
    brand_id: int
    brand_name: str
    kind: str
    thumb_url: str
    tags: list[str]
    remix_count: int
    like_count: int
    comment_count: int
    trending: int
    liked: bool
    created_at: datetime


def upload_ad(session: Session, *, team_id: int, actor_id: int, data: bytes, title: str, campaign: str = "",
              location: str = "", tags: list[str] | str | None = None) -> Ad:
    """A new ad of the team's brand from an uploaded image or video."""
    teams.require_role(session, team_id=team_id, user_id=actor_id, minimum="editor")
    brand = brand_for_team(session, team_id=team_id)
    if brand is None:
        raise ValidationError("Set up your brand first (Remix → Brand), then upload its ads.")
    title = clean(title, limit=200, what="The title", required=True)
    campaign = clean(campaign, limit=200, what="The campaign")
    location = clean(location, limit=200, what="The location")
    tag_list = clean_tags(tags)
    prepared = assets.prepare_upload(data)
    keys = assets.store_all(prepared.files)
    try:
        ad = Ad(brand_id=brand.id, team_id=team_id, uploaded_by_id=actor_id, kind=prepared.kind, title=title,
                campaign=campaign, location=location, tags=tag_list, content_type=prepared.content_type,
                size_bytes=prepared.size_bytes, original_key=keys["original"], web_key=keys.get("web", ""),
                thumb_key=keys.get("thumb", ""), poster_key=keys.get("poster", ""), width=prepared.width,
                height=prepared.height, duration_seconds=prepared.duration_seconds, probe=prepared.probe)
        session.add(ad)
        session.flush()
    except BaseException:
        assets.delete_keys(keys.values())
        raise
    return ad


def get_ad(session: Session, *, ad_id: int) -> Ad:
    ad = session.get(Ad, ad_id)
    if ad is None:
        raise NotFound("This ad does not exist (it may have been deleted).")
    return ad


def ad_keys(ad: Ad) -> list[str]:
    return [ad.original_key, ad.web_key, ad.thumb_key, ad.poster_key]


def delete_ad(session: Session, *, ad_id: int, actor_id: int) -> None:
    """Delete an ad with its remixes, likes and comments; only its brand's editors may."""
    ad = get_ad(session, ad_id=ad_id)
    teams.require_role(session, team_id=ad.team_id, user_id=actor_id, minimum="editor")
    keys = ad_keys(ad)
    for remix in session.exec(select(Remix).where(Remix.ad_id == ad.id)):
        keys += [remix.output_key, remix.thumb_key]
    session.delete(ad)
    session.flush()
    assets.delete_keys(keys)


def update_ad(session: Session, *, ad_id: int, actor_id: int, title: str, campaign: str = "", location: str = "",
              tags: list[str] | str | None = None) -> Ad:
    ad = get_ad(session, ad_id=ad_id)
    teams.require_role(session, team_id=ad.team_id, user_id=actor_id, minimum="editor")
    ad.title = clean(title, limit=200, what="The title", required=True)
    ad.campaign = clean(campaign, limit=200, what="The campaign")
    ad.location = clean(location, limit=200, what="The location")
    ad.tags = clean_tags(tags)
    session.add(ad)
    return ad


def _trending_expr(now: datetime):
    return (select(func.count(Remix.id)).where(Remix.ad_id == Ad.id, Remix.created_at >= now - TRENDING_WINDOW)
            .correlate(Ad).scalar_subquery())


def _cursor(value, ad_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return f"{value}|{ad_id}"


def list_ads(session: Session, *, viewer_id: int, sort: str = "newest", query: str = "", brand_id: int | None = None,
             tag: str = "", kind: str = "", cursor: str = "", limit: int = PAGE_SIZE,
             now: datetime | None = None) -> tuple[list[AdCard], str]:
    """One page of ads and the cursor of the next page ("" when this is the last)."""
    if sort not in SORTS:
        raise ValidationError(f"Unknown sort {sort[:20]!r}.")
    now = now or utcnow()
    trending = _trending_expr(now)
    key = {"newest": Ad.created_at, "remixed": Ad.remix_count, "liked": Ad.like_count, "trending": trending}[sort]
    stmt = select(Ad, Brand.name, trending.label("trend")).join(Brand, Brand.id == Ad.brand_id)
    if brand_id:
        stmt = stmt.where(Ad.brand_id == brand_id)
    if kind in KINDS:
        stmt = stmt.where(Ad.kind == kind)
    tag = (clean_tags([tag]) or [""])[0] if tag else ""
    if tag:
        stmt = stmt.where(Ad.tags.contains([tag]))
    words = clean(query, limit=200, what="The search").split()
    for word in words[:8]:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Ad.title.ilike(pattern), Ad.campaign.ilike(pattern), Ad.location.ilike(pattern),
                              Brand.name.ilike(pattern), cast(Ad.tags, String).ilike(pattern)))
    if cursor:
        raw, _, last_id = cursor.rpartition("|")
        try:
            last = datetime.fromisoformat(raw) if sort == "newest" else int(raw)
            stmt = stmt.where(tuple_(key, Ad.id) < tuple_(literal(last), literal(int(last_id))))
        except ValueError:
            raise ValidationError("This page link is broken; start from the first page.") from None
    rows = list(session.exec(stmt.order_by(key.desc(), Ad.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    liked = set()
    if rows:
        liked = set(session.exec(select(RemixLike.ad_id).where(
            RemixLike.user_id == viewer_id, RemixLike.remix_id.is_(None), RemixLike.ad_id.in_([r[0].id for r in rows]))))
    cards = [AdCard(ad.id, ad.title, ad.brand_id, brand_name, ad.kind, assets.url(ad.thumb_key), list(ad.tags),
                    ad.remix_count, ad.like_count, ad.comment_count, int(trend or 0), ad.id in liked, ad.created_at)
             for ad, brand_name, trend in rows]
    next_cursor = ""
    if more and rows:
        ad, _, trend = rows[-1]
        value = {"newest": ad.created_at, "remixed": ad.remix_count, "liked": ad.like_count, "trending": int(trend or 0)}[sort]
        next_cursor = _cursor(value, ad.id)
    return cards, next_cursor


def all_tags(session: Session, *, limit: int = 50) -> list[str]:
    """The most used tags, for the filter."""
    tag = func.jsonb_array_elements_text(Ad.tags).table_valued("value").render_derived()
    rows = session.exec(select(tag.c.value, func.count()).select_from(Ad).join(tag, literal(True))
                        .group_by(tag.c.value).order_by(func.count().desc(), tag.c.value).limit(limit))
    return [value for value, _ in rows]

