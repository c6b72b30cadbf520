"""The brand page (/remix/brand): set up the team's brand, and its dashboard: activity chart,
top prompts, signals (offline, or with the team member's Anthropic/OpenAI key), per-ad totals,
competitors, leaderboard and CSV exports.

Figures are plotly objects built by `dashboard.py`; the state keeps only them and short tables.
"""

from __future__ import annotations

import plotly.graph_objects as go
import reflex as rx

from socialhub.core.db import session_scope
from socialhub.identity import teams, users
from socialhub.remix import assets, brands, dashboard, signals
from socialhub.ui.state import AppState


def _rows(frame) -> list[dict[str, str]]:
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in frame.to_dict("records")]


class RemixBrandState(AppState):
    has_brand: bool = False
    can_edit: bool = False
    name: str = ""
    description: str = ""
    colors: str = ""
    competitors: str = ""
    logo: str = ""
    error: str = ""
    activity_figure: go.Figure = go.Figure()
    tone_figure: go.Figure = go.Figure()
    themes_figure: go.Figure = go.Figure()
    ad_rows: list[dict[str, str]] = []
    prompt_rows: list[dict[str, str]] = []
    remixer_rows: list[dict[str, str]] = []
    competitor_rows: list[dict[str, str]] = []
    signal_rows: list[dict[str, str]] = []
    signal_note: str = ""

    @rx.event
    def load(self):
        return self._act(lambda session, user_id: self._fill(session, user_id))

    def _fill(self, session, user_id: int) -> None:
        brand = brands.brand_for_team(session, team_id=self._team_id)
        role = teams.get_role(session, team_id=self._team_id, user_id=user_id) or ""
        self.can_edit = teams.role_at_least(role, "admin") if role else False
        self.has_brand = brand is not None
        if brand is None:
            return
        self.name, self.description = brand.name, brand.description
        self.colors, self.competitors = ", ".join(brand.colors), ", ".join(brand.competitors)
        self.logo = assets.url(brand.logo_key)
        kw = {"team_id": self._team_id, "user_id": user_id}
        self.activity_figure = dashboard.figure_activity(dashboard.activity(session, **kw))
        self.ad_rows = _rows(dashboard.ad_totals(session, **kw).head(50))
        prompts = dashboard.top_prompts(session, **kw)
        self.prompt_rows = _rows(prompts)
        self.remixer_rows = _rows(dashboard.leaderboard(session, brand_id=brand.id))
        self.competitor_rows = _rows(dashboard.competitors(session, **kw))
        self._show_signals(signals.get_signals(session, brand_id=brand.id))

    def _show_signals(self, data: dict) -> None:
        self.signal_note = str(data.get("note", ""))
        self.tone_figure = dashboard.figure_sentiment(data.get("tone") or [])
        themes = data.get("themes") or []
        self.themes_figure = dashboard.figure_bars([t["label"] for t in themes], [t["count"] for t in themes],
                                                   "Top themes")
        self.signal_rows = [
            {"kind": kind, "label": item["label"], "count": str(item["count"]), "example": (item.get("examples") or [""])[0]}
            for kind in ("themes", "styles", "intents", "tone") for item in data.get(kind) or []
        ]

    @rx.event
    def save(self, form: dict):
        def action(session, user_id):
            return brands.setup_brand(session, team_id=self._team_id, actor_id=user_id, name=str(form.get("name", "")),
                                      description=str(form.get("description", "")), colors=str(form.get("colors", "")),
                                      competitors=str(form.get("competitors", "")))
        return self._act(action, "Brand saved.", error_field="error",
                         reload=lambda user_id: self._reload(user_id))

    def _reload(self, user_id: int) -> None:
        with session_scope() as session:
            self._fill(session, user_id)

    @rx.event
    async def upload_logo(self, files: list[rx.UploadFile]):
        if not files:
            return None
        data = await files[0].read(30 * 1024 * 1024)

        def action(session, user_id):
            brand = brands.brand_for_team(session, team_id=self._team_id)
            if brand is None:
                from socialhub.core.errors import ValidationError

                raise ValidationError("Save the brand's name first, then add its logo.")
            return brands.setup_brand(session, team_id=self._team_id, actor_id=user_id, name=brand.name,
                                      description=brand.description, colors=brand.colors,
                                      competitors=brand.competitors, logo=data)
        return self._act(action, "Logo saved.", error_field="error", reload=lambda user_id: self._reload(user_id))

    @rx.event
    def refresh_signals(self):
        """Recompute the signals: with the member's Anthropic or OpenAI key if they have one."""
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        with session_scope() as session:
            brand = brands.brand_for_team(session, team_id=self._team_id)
            if brand is None:
                return rx.toast.error("Set up your brand first.")
            provider, key = "local", None
            for name in ("anthropic", "openai"):
                key = users.get_provider_key(session, user_id=user.id, provider=name)
                if key:
                    provider = name
                    break
            count, prompts, diffs, _ = signals.signal_inputs(session, brand_id=brand.id)
        data = signals.compute_signals(prompts, diffs, provider=provider, api_key=key)  # no transaction open
        with session_scope() as session:
            signals.save_signals(session, brand_id=brand.id, ad_id=None, provider=provider, remix_count=count, data=data)
        self._show_signals(data)
        return rx.toast.success("Signals refreshed.")

    @rx.event
    def export_csv(self, name: str):
        def action(session, user_id):
            return dashboard.to_csv(dashboard.table(session, name=str(name), team_id=self._team_id, user_id=user_id))
        return self._act(action, lambda csv: rx.download(data=csv, filename=f"remix-{name}.csv"))
