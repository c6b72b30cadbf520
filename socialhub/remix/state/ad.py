"""The ad page (/remix/ad?ad=ID): the original, its brand, the remix tree with live progress,
the prompt box (remix the ad or a chosen remix), compare two, share, likes and comments.

Rows are plain dicts of strings built from the services' results. The real-time listener calls
`_on_remix_event` for `remix` events; the page reloads its tree when the event is for its ad.
"""

from __future__ import annotations

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.identity import teams
from socialhub.remix import ads, assets, brands, generate, reactions, threads
from socialhub.remix.edits import HELP
from socialhub.ui import clients
from socialhub.ui.state import AppState, local_time


def diff_rows(diff: list[dict]) -> list[dict[str, str]]:
    return [{"op": d.get("op", "="), "text": str(d.get("text", ""))} for d in diff]


class RemixAdState(AppState):
    ad_id: int = 0
    ad: dict[str, str] = {}
    brand: dict[str, str] = {}
    colors: list[str] = []
    tree: list[dict[str, str]] = []
    comments: list[dict[str, str]] = []
    prompt: str = ""
    parent_id: str = ""
    error: str = ""
    ad_liked: bool = False
    can_manage: bool = False
    compare_left: str = ""
    compare_right: str = ""
    comparison: dict[str, str] = {}
    comparison_diff: list[dict[str, str]] = []
    reply_to: str = ""
    help_text: str = HELP
    missing: str = ""

    @rx.event
    def load(self):
        raw = str(self.router.url.query_parameters.get("ad", ""))
        self.ad_id = int(raw) if raw.isdigit() else 0
        self.prompt = self.parent_id = self.error = self.reply_to = ""
        self.comparison, self.comparison_diff = {}, []
        return self._act(lambda session, user_id: self._fill(session, user_id))

    def _fill(self, session, user_id: int) -> None:
        try:
            ad = ads.get_ad(session, ad_id=self.ad_id)
        except Exception as exc:
            self.missing, self.ad = str(exc), {}
            return
        self.missing = ""
        brand = brands.get_brand(session, brand_id=ad.brand_id)
        role = teams.get_role(session, team_id=ad.team_id, user_id=user_id)
        self.can_manage = bool(role and teams.role_at_least(role, "editor"))
        self.ad = {
            "id": str(ad.id), "title": ad.title, "campaign": ad.campaign, "location": ad.location,
            "tags": ", ".join(ad.tags), "kind": ad.kind, "src": assets.url(ad.web_key or ad.original_key),
            "poster": assets.url(ad.poster_key), "video": assets.url(ad.original_key) if ad.kind == "video" else "",
            "remixes": str(ad.remix_count), "likes": str(ad.like_count), "comments": str(ad.comment_count),
            "size": f"{ad.width}×{ad.height}" if ad.width else "",
            "duration": f"{ad.duration_seconds:.1f} s" if ad.duration_seconds else "",
        }
        self.brand = {"id": str(brand.id), "name": brand.name, "description": brand.description,
                      "logo": assets.url(brand.logo_key), "competitors": ", ".join(brand.competitors)}
        self.colors = list(brand.colors)
        self.ad_liked = bool(reactions.liked(session, user_id=user_id, ad_id=ad.id))
        self._fill_tree(session, user_id)
        self.comments = [
            {"id": str(c.id), "author": c.author_name, "body": c.body, "depth": str(min(c.depth, 4)),
             "indent": f"{min(c.depth, 4) * 24}px", "when": local_time(c.created_at, self._timezone),
             "mine": "1" if c.author_id == user_id or self.can_manage else ""}
            for c in reactions.list_comments(session, ad_id=ad.id)
        ]

    def _fill_tree(self, session, user_id: int) -> None:
        rows = []
        for node in threads.flatten(threads.remix_tree(session, ad_id=self.ad_id)):
            r = node.remix
            rows.append({
                "id": str(r.id), "parent": str(r.parent_id or ""), "prompt": r.prompt, "status": r.status,
                "progress": str(r.progress), "error": r.error, "kind": r.kind, "src": node.output_url,
                "thumb": node.thumb_url, "provider": f"{r.provider} · {r.model}", "indent": f"{min(node.depth, 6) * 28}px",
                "depth": str(node.depth), "mine": "1" if r.user_id == user_id else "", "likes": str(r.like_count),
                "notes": " · ".join(r.notes), "added": " ".join(d["text"] for d in r.prompt_diff if d.get("op") == "+"),
                "removed": " ".join(d["text"] for d in r.prompt_diff if d.get("op") == "-"),
                "when": local_time(r.created_at, self._timezone),
            })
        self.tree = rows

    def _reload(self):
        return lambda _result=None: self._act(lambda session, user_id: self._fill(session, user_id))

    @rx.event
    def set_prompt(self, value: str):
        self.prompt = str(value)[:4000]

    @rx.event
    def remix_from(self, remix_id: str):
        self.parent_id = str(remix_id) if str(remix_id).isdigit() else ""

    @rx.event
    def submit_remix(self):
        parent = int(self.parent_id) if self.parent_id.isdigit() else None

        def action(session, user_id):
            return generate.request_remix(session, user_id=user_id, ad_id=self.ad_id, prompt=self.prompt, parent_id=parent)

        def done(remix):
            self.prompt = ""
            with session_scope() as session:
                self._fill_tree(session, self._user_id)
            return rx.toast.success("Your remix is on its way; watch it below.")
        return self._act(action, done, error_field="error")

    @rx.event
    def cancel(self, remix_id: str):
        return self._act(lambda s, u: generate.cancel_remix(s, user_id=u, remix_id=int(remix_id)), self._reload())

    @rx.event
    def retry(self, remix_id: str):
        return self._act(lambda s, u: generate.retry_remix(s, user_id=u, remix_id=int(remix_id)), self._reload())

    @rx.event
    def toggle_like(self):
        liked = not self.ad_liked

        def done(count):
            self.ad_liked = liked
            self.ad = {**self.ad, "likes": str(count)}
        return self._act(lambda s, u: reactions.set_like(s, user_id=u, ad_id=self.ad_id, liked=liked), done)

    @rx.event
    def like_remix(self, remix_id: str):
        return self._act(lambda s, u: reactions.set_like(s, user_id=u, ad_id=self.ad_id, remix_id=int(remix_id)),
                         self._reload())

    @rx.event
    def reply(self, comment_id: str):
        self.reply_to = str(comment_id) if str(comment_id).isdigit() else ""

    @rx.event
    def add_comment(self, form: dict):
        body = str(form.get("body", ""))
        parent = int(self.reply_to) if self.reply_to.isdigit() else None

        def done(_):
            self.reply_to = ""
            with session_scope() as session:
                self._fill(session, self._user_id)
            return rx.toast.success("Comment added.")
        return self._act(lambda s, u: reactions.add_comment(s, user_id=u, ad_id=self.ad_id, body=body, parent_id=parent),
                         done, error_field="error")

    @rx.event
    def delete_comment(self, comment_id: str):
        return self._act(lambda s, u: reactions.delete_comment(s, user_id=u, comment_id=int(comment_id)), self._reload())

    @rx.event
    def pick_compare(self, remix_id: str):
        if not str(remix_id).isdigit():
            return None
        self.compare_left, self.compare_right = self.compare_right or str(remix_id), str(remix_id)
        if self.compare_left == self.compare_right:
            return None

        def done(c: threads.Comparison):
            self.comparison = {"left": c.left_url, "right": c.right_url, "left_prompt": c.left.prompt,
                               "right_prompt": c.right.prompt, "left_id": str(c.left.id), "right_id": str(c.right.id)}
            self.comparison_diff = diff_rows(c.diff)
        return self._act(lambda s, u: threads.compare_remixes(s, left_id=int(self.compare_left),
                                                              right_id=int(self.compare_right)), done)

    @rx.event
    def close_compare(self):
        self.comparison, self.comparison_diff, self.compare_left, self.compare_right = {}, [], "", ""

    @rx.event
    def share(self, remix_id: str):
        def done(post):
            return [rx.toast.success("A draft post with this remix is in Schedule."),
                    rx.redirect(f"/schedule/compose?post={post.id}")]
        return self._act(lambda s, u: threads.share_remix(s, remix_id=int(remix_id), team_id=self._team_id, actor_id=u),
                         done)

    @rx.event
    def delete_ad(self):
        return self._act(lambda s, u: ads.delete_ad(s, ad_id=self.ad_id, actor_id=u),
                         lambda _: [rx.toast.success("Ad deleted."), rx.redirect("/remix")])

    def _on_remix_event(self, data: dict) -> None:
        """Live progress: reload the tree when a remix of this ad changed."""
        if not self.ad_id or data.get("ad_id") != self.ad_id or not self._user_id:
            return
        if not (self.router.url.path or "").startswith("/remix/ad"):
            return
        with session_scope() as session:
            self._fill_tree(session, self._user_id)
            if data.get("status") == "done":
                self.ad = {**self.ad, "remixes": str(ads.get_ad(session, ad_id=self.ad_id).remix_count)}


clients.on_event(generate.EVENT, RemixAdState, "_on_remix_event")
