"""The brand dashboard's numbers: remixes, likes and comments per day, top prompts, per-ad
totals, competitors on the platform, the remixer leaderboard, and CSV exports of each table.

Only the brand's own team may read it (`require_role` viewer). Tables are pandas frames built
from a few aggregate queries; `figure_*` turns them into plotly figures (no Reflex here).
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy import func
from sqlmodel import Session, select

from socialhub.core.errors import NotFound
from socialhub.core.models import utcnow
from socialhub.identity import teams
from socialhub.identity.models import User
from socialhub.remix.brands import brand_for_team
from socialhub.remix.models import Ad, Brand, Remix, RemixComment, RemixLike

TABLES = ("activity", "ads", "prompts", "remixers", "competitors")


def _brand(session: Session, team_id: int, user_id: int) -> Brand:
    teams.require_role(session, team_id=team_id, user_id=user_id, minimum="viewer")
    brand = brand_for_team(session, team_id=team_id)
    if brand is None:
        raise NotFound("This team has not set up its brand yet.")
    return brand


def _per_day(session: Session, model, brand_id: int, since) -> pd.Series:
    day = func.date_trunc("day", model.created_at)
    rows = session.exec(select(day, func.count(model.id)).join(Ad, Ad.id == model.ad_id)
                        .where(Ad.brand_id == brand_id, model.created_at >= since).group_by(day)).all()
    return pd.Series({pd.Timestamp(d).tz_convert(None).normalize(): n for d, n in rows}, dtype="int64")


def activity(session: Session, *, team_id: int, user_id: int, days: int = 30) -> pd.DataFrame:
    """One row per day: remixes, likes, comments on the brand's ads."""
    brand = _brand(session, team_id, user_id)
    since = utcnow() - timedelta(days=days)
    index = pd.date_range(end=pd.Timestamp(utcnow()).tz_convert(None).normalize(), periods=days, freq="D")
    frame = pd.DataFrame({
        "remixes": _per_day(session, Remix, brand.id, since),
        "likes": _per_day(session, RemixLike, brand.id, since),
        "comments": _per_day(session, RemixComment, brand.id, since),
    }).reindex(index, fill_value=0).fillna(0).astype("int64")
    frame.index.name = "day"
    return frame.reset_index()


def ad_totals(session: Session, *, team_id: int, user_id: int) -> pd.DataFrame:
    brand = _brand(session, team_id, user_id)
    rows = session.exec(select(Ad.id, Ad.title, Ad.kind, Ad.remix_count, Ad.like_count, Ad.comment_count)
                        .where(Ad.brand_id == brand.id).order_by(Ad.remix_count.desc(), Ad.id)).all()
    return pd.DataFrame(rows, columns=["ad_id", "title", "kind", "remixes", "likes", "comments"])


def top_prompts(session: Session, *, team_id: int, user_id: int, limit: int = 20) -> pd.DataFrame:
    brand = _brand(session, team_id, user_id)
    text = func.lower(func.btrim(Remix.prompt))
    rows = session.exec(select(text, func.count(Remix.id)).join(Ad, Ad.id == Remix.ad_id)
                        .where(Ad.brand_id == brand.id, Remix.status == "done")
                        .group_by(text).order_by(func.count(Remix.id).desc(), text).limit(limit)).all()
    return pd.DataFrame(rows, columns=["prompt", "remixes"])


def leaderboard(session: Session, *, brand_id: int | None = None, limit: int = 20) -> pd.DataFrame:
    """Remixers by finished remixes (of one brand's ads, or of all); names only, no e-mails."""
    stmt = (select(User.name, func.count(Remix.id)).join(User, User.id == Remix.user_id)
            .where(Remix.status == "done"))
    if brand_id:
        stmt = stmt.join(Ad, Ad.id == Remix.ad_id).where(Ad.brand_id == brand_id)
    rows = session.exec(stmt.group_by(User.id, User.name).order_by(func.count(Remix.id).desc(), User.name)
                        .limit(limit)).all()
    return pd.DataFrame(rows, columns=["remixer", "remixes"])


def competitors(session: Session, *, team_id: int, user_id: int) -> pd.DataFrame:
    """The brand and each named competitor that is on the platform: ads, remixes, likes."""
    brand = _brand(session, team_id, user_id)
    names = [brand.name, *brand.competitors]
    rows = session.exec(select(Brand.name, func.count(Ad.id), func.coalesce(func.sum(Ad.remix_count), 0),
                               func.coalesce(func.sum(Ad.like_count), 0))
                        .join(Ad, Ad.brand_id == Brand.id, isouter=True)
                        .where(func.lower(Brand.name).in_([n.lower() for n in names]))
                        .group_by(Brand.id, Brand.name)).all()
    found = {name.lower(): (name, a, r, li) for name, a, r, li in rows}
    data = [found.get(n.lower(), (n, None, None, None)) for n in names]
    return pd.DataFrame(data, columns=["brand", "ads", "remixes", "likes"])


def table(session: Session, *, name: str, team_id: int, user_id: int) -> pd.DataFrame:
    if name == "activity":
        return activity(session, team_id=team_id, user_id=user_id)
    if name == "ads":
        return ad_totals(session, team_id=team_id, user_id=user_id)
    if name == "prompts":
        return top_prompts(session, team_id=team_id, user_id=user_id)
    if name == "competitors":
        return competitors(session, team_id=team_id, user_id=user_id)
    if name == "remixers":
        return leaderboard(session, brand_id=_brand(session, team_id, user_id).id)
    raise NotFound(f"There is no table called {name[:30]!r}.")


def to_csv(frame: pd.DataFrame) -> str:
    """CSV with cells that a spreadsheet would run as formulas defused (a leading ')."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: f"'{v}" if isinstance(v, str) and v[:1] in "=+-@\t\r" else v)
    return safe.to_csv(index=False)


def figure_activity(frame: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for column in ("remixes", "likes", "comments"):
        figure.add_trace(go.Scatter(x=frame["day"], y=frame[column], mode="lines+markers", name=column.title()))
    figure.update_layout(title="Remixes, likes and comments per day", margin={"l": 40, "r": 10, "t": 40, "b": 30},
                         height=320, legend={"orientation": "h"})
    return figure


def figure_sentiment(tone: list[dict]) -> go.Figure:
    figure = go.Figure(go.Pie(labels=[t["label"].title() for t in tone], values=[t["count"] for t in tone], hole=0.5))
    figure.update_layout(title="Tone of the prompts", height=300, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


def figure_bars(labels: list[str], values: list[int], title: str) -> go.Figure:
    figure = go.Figure(go.Bar(x=values[::-1], y=labels[::-1], orientation="h"))
    figure.update_layout(title=title, height=320, margin={"l": 160, "r": 10, "t": 40, "b": 30})
    return figure
