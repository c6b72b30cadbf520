"""Remix threads: prompt diffs, the tree of an ad's remixes, comparing two, sharing to Schedule.

- `prompt_diff(old, new)` is a word-level diff (difflib): [{"op": "=", "+" or "-", "text"}].
- `remix_tree(ad_id)` returns the ad's finished and in-progress remixes as nested nodes (a
  remix of a remix sits under its parent), oldest first at each level.
- `share_remix` copies a finished remix into the sharer's team media (`media.uploads`) and makes
  a draft post with it through Schedule's own service (`schedule.posts.create_post`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from sqlmodel import Session, select

from socialhub.core import storage
from socialhub.core.errors import NotFound, ValidationError
from socialhub.media.uploads import upload_media
from socialhub.remix import assets
from socialhub.remix.models import Ad, Remix
from socialhub.schedule import posts

MAX_TREE = 500


_TOKEN = re.compile(r"[\w:'’-]+|[^\w\s]+")


def prompt_diff(old: str, new: str) -> list[dict]:
    """The parts removed from and added to `old` to get `new`, in order, as the prompts wrote them
    (compared word by word; punctuation is its own token, so "sepia," still matches "sepia")."""
    old, new = old or "", new or ""
    ta, tb = list(_TOKEN.finditer(old)), list(_TOKEN.finditer(new))

    def text(source: str, tokens: list, i: int, j: int) -> str:
        return source[tokens[i].start():tokens[j - 1].end()].strip(" ") if j > i else ""

    out: list[dict] = []
    matcher = difflib.SequenceMatcher(a=[t.group() for t in ta], b=[t.group() for t in tb], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.append({"op": "=", "text": text(old, ta, i1, i2)})
            continue
        if tag in ("delete", "replace"):
            out.append({"op": "-", "text": text(old, ta, i1, i2)})
        if tag in ("insert", "replace"):
            out.append({"op": "+", "text": text(new, tb, j1, j2)})
    return out


@dataclass
class Node:
    remix: Remix
    output_url: str
    thumb_url: str
    children: list[Node] = field(default_factory=list)
    depth: int = 0


def remix_tree(session: Session, *, ad_id: int) -> list[Node]:
    """The ad's remixes (all statuses but cancelled) as a forest under the ad."""
    rows = list(session.exec(select(Remix).where(Remix.ad_id == ad_id, Remix.status != "cancelled")
                             .order_by(Remix.created_at, Remix.id).limit(MAX_TREE)))
    nodes = {r.id: Node(r, assets.url(r.output_key), assets.url(r.thumb_key)) for r in rows}
    roots: list[Node] = []
    for r in rows:
        parent = nodes.get(r.parent_id) if r.parent_id else None
        (parent.children if parent else roots).append(nodes[r.id])

    def depth(node: Node, d: int) -> None:
        node.depth = d
        for child in node.children:
            depth(child, d + 1)

    for root in roots:
        depth(root, 0)
    return roots


def flatten(nodes: list[Node]) -> list[Node]:
    """Depth-first order, as the thread view lists them (indented by depth)."""
    out: list[Node] = []
    for node in nodes:
        out.append(node)
        out.extend(flatten(node.children))
    return out


def lineage(session: Session, *, remix_id: int) -> list[Remix]:
    """The remix and its ancestors, root first."""
    chain: list[Remix] = []
    remix = session.get(Remix, remix_id)
    while remix is not None and len(chain) < MAX_TREE:
        chain.append(remix)
        remix = session.get(Remix, remix.parent_id) if remix.parent_id else None
    return list(reversed(chain))


@dataclass(frozen=True)
class Comparison:
    left: Remix
    right: Remix
    left_url: str
    right_url: str
    diff: list[dict]


def compare_remixes(session: Session, *, left_id: int, right_id: int) -> Comparison:
    """Two remixes of the same ad side by side, with the diff of their prompts."""
    left, right = session.get(Remix, left_id), session.get(Remix, right_id)
    if left is None or right is None:
        raise NotFound("One of the remixes to compare does not exist.")
    if left.ad_id != right.ad_id:
        raise ValidationError("Only remixes of the same ad can be compared.")
    return Comparison(left, right, assets.url(left.output_key), assets.url(right.output_key),
                      prompt_diff(left.prompt, right.prompt))


def share_remix(session: Session, *, remix_id: int, team_id: int, actor_id: int, text: str = ""):
    """A draft post in the actor's team's Schedule with the remix's picture or clip."""
    remix = session.get(Remix, remix_id)
    if remix is None or remix.status != "done" or not remix.output_key:
        raise NotFound("Only a finished remix can be shared.")
    ad = session.get(Ad, remix.ad_id)
    data = storage.get_storage().get(remix.output_key)
    media = upload_media(session, team_id=team_id, actor_id=actor_id, data=data,
                         filename=f"remix-{remix.id}.{remix.output_key.rsplit('.', 1)[-1]}",
                         alt_text=f"A remix of the ad {ad.title}: {remix.prompt}"[:5000])
    caption = text.strip() or f"Our remix of “{ad.title}”: {remix.prompt}"
    return posts.create_post(session, team_id=team_id, author_id=actor_id, text=caption[:5000], media_ids=[media.id])
