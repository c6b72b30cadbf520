"""Digests: each reader's best stories of the day, written up by AI and delivered.

A build (`build_digest`), step by step, and who owns which status:

1. Claim (transaction 1): the (user, local day) row is created if missing (`draft`) and locked;
   unless another build holds a live lease it becomes `generating` with `claimed_until = now +
   LEASE`. A built digest is only rebuilt when asked (`force`: regenerate / retry). The unique
   (user, day) constraint makes "one digest per user per day" a database fact.
2. Choose (same transaction): today's scores are completed (`scoring.ensure_scores`) and the top
   `max_items` stories above `min_score` that were not in an earlier digest are picked.
3. Write (no transaction open: AI calls can take a while): per story a summary, 3–5 key points
   and hashtags; then an overall title and summary, and an image (the provider's, else the
   local title card). An AI error marks the digest `failed` with the provider's message.
4. Store (transaction 2): the items replace any earlier ones, status `generated`, bell notice.
5. Deliver (transaction 3, `deliver_digest`): by e-mail (SMTP or the outbox) with an open pixel
   and tracked links, and/or as a post through Schedule's services (`posts.create_post`, then
   `timing.publish_now`); every attempt is a `DigestDelivery` row with its status and error.
   One success makes it `delivered`; if every channel failed it is `failed` with the reasons,
   and can be retried.

A crashed build leaves `generating` with an expired lease; `sweep_interrupted` turns it into
`failed` so the page offers a retry.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from socialhub import ai
from socialhub.ai.base import image_kind
from socialhub.core import outbox
from socialhub.core.config import get_settings
from socialhub.core.db import session_scope
from socialhub.core.errors import NotFound, ServiceError, ValidationError
from socialhub.core.models import utcnow
from socialhub.core.storage import get_storage, new_media_key
from socialhub.feed import ai_models, scoring, settings
from socialhub.feed.models import Digest, DigestDelivery, DigestItem, FeedItemState, FeedSettings, FeedSource
from socialhub.identity import notifications, teams
from socialhub.identity.models import User
from socialhub.schedule import posts, timing

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=15)
CANDIDATE_WINDOW = scoring.SCORE_WINDOW
ITEM_WORDS = 50
DIGEST_WORDS = 80
KEY_POINTS = 4
HASHTAGS = 4
IMAGE_SIZE = {"local": "1200x630", "openai": "1536x1024"}

SessionFactory = Callable[[], AbstractContextManager[Session]]


# ---- views ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DigestItemView:
    position: int
    story_id: int | None
    title: str
    url: str
    source_names: str
    score: float
    summary: str
    key_points: list[str]
    hashtags: list[str]
    click_count: int


@dataclass(frozen=True)
class DeliveryView:
    channel: str
    status: str
    target: str
    error: str
    created_at: datetime


@dataclass(frozen=True)
class DigestView:
    id: int
    day: date
    status: str
    title: str
    summary: str
    provider_label: str
    image_url: str
    error: str
    open_count: int
    click_count: int
    created_at: datetime
    generated_at: datetime | None
    delivered_at: datetime | None
    items: list[DigestItemView]
    deliveries: list[DeliveryView]


@dataclass(frozen=True)
class Candidate:
    story_id: int
    title: str
    url: str
    text: str
    score: float
    source_names: str


@dataclass(frozen=True)
class Written:
    title: str
    summary: str
    items: list[tuple[Candidate, str, list[str], list[str]]]
    image: bytes | None
    image_kind: str
    provider: str
    provider_label: str


# ---- 1 + 2: claim and choose ------------------------------------------------------------------

def _token() -> str:
    return secrets.token_urlsafe(18)


def claim_digest(session: Session, *, user_id: int, day: date, now: datetime, force: bool = False) -> Digest | None:
    """Lock the day's digest and mark it `generating`; None when it is built and not forced.

    Raises ValidationError while another build holds a live lease on it.
    """
    session.execute(insert(Digest.__table__).values(
        user_id=user_id, day=day, status="draft", title="", summary="", provider="", provider_label="",
        image_key="", error="", open_token=_token(), open_count=0, created_at=now,
    ).on_conflict_do_nothing(index_elements=["user_id", "day"]))
    digest = session.exec(select(Digest).where(Digest.user_id == user_id, Digest.day == day).with_for_update()).one()
    if digest.status == "generating" and digest.claimed_until and digest.claimed_until > now:
        raise ValidationError("This digest is being built right now. It will appear here in a moment.")
    if digest.status in ("generated", "delivered") and not force:
        return None
    digest.status, digest.error, digest.claimed_until = "generating", "", now + LEASE
    session.add(digest)
    session.flush()
    return digest


def candidates(session: Session, *, user_id: int, day: date, prefs: FeedSettings, now: datetime) -> list[Candidate]:
    """The top stories for the digest: recent, above the minimum score, not in an earlier digest."""
    scoring.ensure_scores(session, user_id=user_id, now=now, day=day)
    rows = session.execute(text("""
        SELECT e.story_id, i.title, i.url, left(i.text, 4000), sc.final,
               (SELECT string_agg(DISTINCT s.title, ', ') FROM feed_item_sources e2
                JOIN feed_sources s ON s.id = e2.source_id AND s.enabled
                WHERE e2.user_id = :u AND e2.story_id = e.story_id AND NOT e2.blocked)
        FROM feed_scores sc
        JOIN feed_item_sources e ON e.user_id = sc.user_id AND e.story_id = sc.story_id AND e.is_primary
        JOIN feed_items i ON i.id = e.item_id
        WHERE sc.user_id = :u AND sc.day = :d AND sc.final >= :min
          AND (e.created_at >= :since OR e.published_at >= :since)
          AND NOT EXISTS (SELECT 1 FROM feed_digest_items di JOIN feed_digests d ON d.id = di.digest_id
                          WHERE d.user_id = :u AND d.day <> :d AND di.story_id = e.story_id)
        ORDER BY sc.final DESC, sc.story_id DESC
        LIMIT :n
    """), {"u": user_id, "since": now - CANDIDATE_WINDOW, "d": day, "min": prefs.min_score,
           "n": prefs.max_items}).all()
    return [Candidate(r[0], r[1], r[2], r[3] or "", float(r[4]), (r[5] or "")[:500]) for r in rows]


# ---- 3: write ----------------------------------------------------------------------------------

def write(chosen: list[Candidate], text_model: ai.TextModel, image_model: ai.ImageModel | None) -> Written:
    """What the AI says about the chosen stories (no database: run it outside transactions)."""
    items = []
    for candidate in chosen:
        # The title is a sentence of its own only when the text is too short to stand alone.
        body = candidate.text if len(candidate.text.split()) >= 15 else f"{candidate.title}. {candidate.text}"
        items.append((candidate, text_model.summarize(body, max_words=ITEM_WORDS),
                      text_model.key_points(body, KEY_POINTS),
                      text_model.hashtags(f"{candidate.title}. {body}", HASHTAGS)))
    title = text_model.title("\n".join(f"{c.title}. {summary}" for c, summary, _, _ in items), max_words=10)
    summary = text_model.summarize(" ".join(summary for _, summary, _, _ in items), max_words=DIGEST_WORDS)
    title = title or "Your digest"
    image, kind = None, "png"
    if image_model is not None:
        prompt = title if image_model.name == "local" else (
            f"An editorial illustration for a daily news digest titled “{title}”, about: "
            + "; ".join(c.title for c in chosen[:3]) + ". No text, no logos.")
        try:
            image = image_model.generate_image(prompt, size=IMAGE_SIZE.get(image_model.name, "1024x1024"))
        except ai.AIError as exc:  # a picture is a bonus: fall back to the title card
            log.warning("image generation failed, using the title card: %s", exc)
            image = None
        if image is None:
            image = ai.LocalImage().generate_image(title)
        kind = image_kind(image) or "png"
    return Written(title=title[:300], summary=summary, items=items, image=image, image_kind=kind,
                   provider=text_model.name, provider_label=text_model.label[:100])


# ---- the build -----------------------------------------------------------------------------------

def _notify(session: Session, user_id: int, title: str, body: str = "") -> None:
    notifications.notify(session, user_id=user_id, kind="digest", title=title, body=body, link="/feed/digests")


def _fail(session: Session, *, digest_id: int, error: str) -> None:
    digest = session.get(Digest, digest_id)
    digest.status, digest.error, digest.claimed_until = "failed", error[:1000], None
    session.add(digest)
    _notify(session, digest.user_id, "Your digest could not be built", error[:500])
    prefs = session.get(FeedSettings, digest.user_id)
    if prefs is not None and prefs.email_notifications:
        user = session.get(User, digest.user_id)
        outbox.send_email(session, to=user.email, subject="Your SocialHub digest could not be built",
                        text=f"{error}\n\nRetry it here: {get_settings().public_url}/feed/digests")


def build_digest(*, session_factory: SessionFactory = session_scope, user_id: int, day: date | None = None,
                 force: bool = False, deliver: bool = True, now: datetime | None = None,
                 models: tuple[ai.TextModel, ai.ImageModel | None] | None = None) -> int | None:
    """Build (and deliver, per the reader's switches) the reader's digest for `day` (today).

    Returns the digest id, or None when today's digest is already built and `force` is off.
    """
    now = now or utcnow()
    with session_factory() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("This account no longer exists.")
        day = day or settings.local_day(user, now)
        digest = claim_digest(session, user_id=user_id, day=day, now=now, force=force)
        if digest is None:
            return None
        digest_id = digest.id
        prefs = settings.get_or_create(session, user_id=user_id)
        try:
            chosen = candidates(session, user_id=user_id, day=day, prefs=prefs, now=now)
            text_model, image_model = models or ai_models.models_for_user(session, user_id=user_id)
        except Exception:
            log.exception("choosing stories for digest %s failed", digest_id)
            chosen, text_model, image_model = None, None, None
    if chosen is None:
        with session_factory() as session:
            _fail(session, digest_id=digest_id, error="Something went wrong choosing the stories. Try again.")
        return digest_id
    try:
        written = write(chosen, text_model, image_model) if chosen else None
    except ai.AIError as exc:
        with session_factory() as session:
            _fail(session, digest_id=digest_id, error=str(exc))
        return digest_id
    except Exception as exc:  # a bug or an SDK surprise: shown as a failure with a retry, logged in full
        log.exception("writing digest %s failed", digest_id)
        with session_factory() as session:
            _fail(session, digest_id=digest_id, error=f"Something went wrong writing the digest ({type(exc).__name__}). Try again.")
        return digest_id

    with session_factory() as session:
        digest = session.exec(select(Digest).where(Digest.id == digest_id).with_for_update()).one()
        session.execute(DigestItem.__table__.delete().where(DigestItem.digest_id == digest_id))
        digest.generated_at, digest.claimed_until, digest.error = utcnow(), None, ""
        if written is None:
            digest.status = "generated"
            digest.title = "Nothing new above your minimum score"
            digest.summary = ("No story from the last three days scored at least "
                              f"{prefs.min_score:g}. Lower the minimum score or add sources, then build again.")
            digest.provider, digest.provider_label, digest.image_key = "", "", ""
            session.add(digest)
            return digest_id
        image_key = ""
        if written.image:
            image_key = new_media_key(written.image_kind)
            get_storage().put(image_key, written.image, f"image/{'jpeg' if written.image_kind == 'jpg' else written.image_kind}")
        digest.status, digest.title, digest.summary = "generated", written.title, written.summary
        digest.provider, digest.provider_label, digest.image_key = written.provider, written.provider_label, image_key
        session.add(digest)
        for position, (candidate, summary, points, hashtags) in enumerate(written.items):
            session.add(DigestItem(
                digest_id=digest_id, story_id=candidate.story_id, position=position, title=candidate.title[:500],
                url=candidate.url, source_names=candidate.source_names, score=candidate.score, summary=summary,
                key_points=points, hashtags=hashtags, click_token=_token()))
        _notify(session, user_id, "Your digest is ready", written.title)
    if deliver:
        deliver_digest(session_factory=session_factory, user_id=user_id, digest_id=digest_id)
    return digest_id


def regenerate(*, session_factory: SessionFactory = session_scope, user_id: int, digest_id: int) -> int | None:
    """Build a day's digest again (also the retry of a failed one)."""
    with session_factory() as session:
        digest = session.get(Digest, digest_id)
        if digest is None or digest.user_id != user_id:
            raise NotFound("This digest no longer exists.")
        day = digest.day
    return build_digest(session_factory=session_factory, user_id=user_id, day=day, force=True)


# ---- 5: deliver ----------------------------------------------------------------------------------

def _links(digest: Digest, items: list[DigestItem]) -> tuple[str, dict[int, str]]:
    base = get_settings().public_url
    return base, {item.id: f"{base}/r/{item.click_token}" for item in items}


def render_email(digest: Digest, items: list[DigestItem]) -> tuple[str, str, str]:
    """(subject, text, html) of the digest e-mail, every link tracked, every value escaped."""
    base, links = _links(digest, items)
    e = html.escape
    subject = " ".join(f"Your digest: {digest.title}".split())[:200]
    label = digest.provider_label or ai.LOCAL_LABEL
    lines = [digest.title, f"{digest.day:%A %d %B %Y} · written by: {label}", "", digest.summary, ""]
    parts = [
        "<!doctype html><html><body style=\"font-family:system-ui,-apple-system,Segoe UI,sans-serif;"
        "max-width:640px;margin:0 auto;padding:16px;color:#1c2024\">",
        f"<h1 style=\"font-size:24px;margin:0 0 4px\">{e(digest.title)}</h1>",
        f"<p style=\"color:#60646c;margin:0 0 16px\">{e(f'{digest.day:%A %d %B %Y}')} · written by: {e(label)}</p>",
    ]
    if digest.image_key:
        parts.append(f"<img src=\"{e(base)}/o/{e(digest.open_token)}.png\" alt=\"\" width=\"600\" "
                     "style=\"max-width:100%;border-radius:12px\">")
    parts.append(f"<p style=\"font-size:16px;line-height:1.5\">{e(digest.summary)}</p>")
    for n, item in enumerate(items, 1):
        link = links[item.id]
        lines += [f"{n}. {item.title}", f"   {item.source_names} · score {item.score:.0f}", f"   {item.summary}"]
        lines += [f"   - {point}" for point in item.key_points]
        if item.hashtags:
            lines.append("   " + " ".join(item.hashtags))
        lines += [f"   Read it: {link}", ""]
        parts.append(
            f"<h2 style=\"font-size:18px;margin:24px 0 4px\"><a href=\"{e(link)}\">{e(item.title)}</a></h2>"
            f"<p style=\"color:#60646c;margin:0 0 8px;font-size:13px\">{e(item.source_names)} · score {item.score:.0f}</p>"
            f"<p style=\"line-height:1.5;margin:0 0 8px\">{e(item.summary)}</p>"
            + ("<ul>" + "".join(f"<li>{e(p)}</li>" for p in item.key_points) + "</ul>" if item.key_points else "")
            + (f"<p style=\"color:#5b5bd6\">{e(' '.join(item.hashtags))}</p>" if item.hashtags else ""))
    lines.append(f"Your digest settings and past digests: {base}/feed/digests")
    parts.append(f"<p style=\"color:#60646c;font-size:13px;margin-top:32px\">Your digest settings and past "
                 f"digests: <a href=\"{e(base)}/feed/digests\">{e(base)}/feed/digests</a></p>"
                 f"<img src=\"{e(base)}/o/{e(digest.open_token)}.gif\" width=\"1\" height=\"1\" alt=\"\">"
                 "</body></html>")
    return subject, "\n".join(lines), "".join(parts)


def post_text(digest: Digest, items: list[DigestItem]) -> str:
    """The digest as one post: title, then each story's title and tracked link."""
    base, links = _links(digest, items)
    lines = [digest.title, ""] + [f"• {item.title} {links[item.id]}" for item in items[:5]]
    tags = list(dict.fromkeys(tag for item in items for tag in item.hashtags))[:3]
    if tags:
        lines += ["", " ".join(tags)]
    return "\n".join(lines)


def _post(session: Session, *, user: User, prefs: FeedSettings, body: str) -> tuple[str, str, str]:
    """(status, target, error) of posting the digest through Schedule's services.

    The post is created in the reader's active team (their chosen account, else the team's
    default) and published at once; if publishing is refused (a viewer, a platform limit) the
    draft stays in Schedule and the delivery says why (`drafted`).
    """
    account_ids = [prefs.post_account_id] if prefs.post_account_id else None
    try:
        with session.begin_nested():
            team_id = teams.active_team_id(session, user=user)
            post = posts.create_post(session, team_id=team_id, author_id=user.id, text=body,
                                     account_ids=account_ids)
    except ServiceError as exc:
        return "failed", "", str(exc)
    try:
        with session.begin_nested():
            timing.publish_now(session, team_id=team_id, actor_id=user.id, post_id=post.id)
    except ServiceError as exc:
        return "drafted", f"draft post {post.id}", f"Saved as a draft in Schedule, not published: {exc}"[:1000]
    return "posted", f"post {post.id}", ""


def deliver_digest(*, session_factory: SessionFactory = session_scope, user_id: int, digest_id: int,
                   channels: tuple[str, ...] | None = None) -> list[DigestDelivery]:
    """Send a built digest by the reader's chosen channels (or these), logging each attempt."""
    with session_factory() as session:
        digest = session.exec(select(Digest).where(Digest.id == digest_id).with_for_update()).first()
        if digest is None or digest.user_id != user_id:
            raise NotFound("This digest no longer exists.")
        if digest.status not in ("generated", "delivered", "failed") or digest.generated_at is None:
            raise ValidationError("Build the digest before sending it.")
        items = list(session.exec(select(DigestItem).where(DigestItem.digest_id == digest_id)
                                  .order_by(DigestItem.position)))
        if not items:
            return []
        prefs = settings.get_or_create(session, user_id=user_id)
        user = session.get(User, user_id)
        if channels is None:
            channels = tuple(c for c, on in (("email", prefs.auto_email), ("post", prefs.auto_post)) if on)
        deliveries = []
        for channel in channels:
            if channel == "email":
                subject, body, html_body = render_email(digest, items)
                email = outbox.send_email(session, to=user.email, subject=subject, text=body, html=html_body,
                                        sender_user_id=user_id)
                deliveries.append(DigestDelivery(digest_id=digest_id, channel="email", status=email.status,
                                                 target=user.email, error=email.error, email_id=email.id))
            elif channel == "post":
                status, target, error = _post(session, user=user, prefs=prefs, body=post_text(digest, items))
                deliveries.append(DigestDelivery(digest_id=digest_id, channel="post", status=status,
                                                 target=target, error=error))
        session.add_all(deliveries)
        if any(d.status in ("sent", "queued", "outbox", "posted") for d in deliveries):
            digest.status, digest.error, digest.delivered_at = "delivered", "", utcnow()
        elif deliveries:
            digest.status = "failed"
            digest.error = "Delivery failed: " + "; ".join(f"{d.channel}: {d.error or d.status}" for d in deliveries)
            _notify(session, user_id, "Your digest could not be delivered", digest.error[:500])
        session.add(digest)
        session.flush()
        return deliveries


# ---- tracking --------------------------------------------------------------------------------------

def record_open(session: Session, *, token: str) -> bool:
    """Count an open of the digest e-mail (its pixel was loaded)."""
    if not token or len(token) > 64:
        return False
    result = session.execute(update(Digest.__table__).where(Digest.open_token == token).values(
        open_count=Digest.open_count + 1, opened_at=text("coalesce(opened_at, now())")))
    return bool(result.rowcount)


def record_click(session: Session, *, token: str) -> str | None:
    """Count a click on a digest link; the story's link, or None for an unknown token."""
    if not token or len(token) > 64:
        return None
    item = session.exec(select(DigestItem).where(DigestItem.click_token == token).with_for_update()).first()
    if item is None or not item.url.lower().startswith(("http://", "https://")):
        return None
    item.click_count += 1
    session.add(item)
    digest = session.get(Digest, item.digest_id)
    if item.story_id is not None:
        now = utcnow()
        table = FeedItemState.__table__
        session.execute(insert(table).values(
            user_id=digest.user_id, story_id=item.story_id, read_at=now, clicked_at=now, click_count=1, updated_at=now,
        ).on_conflict_do_update(index_elements=["user_id", "story_id"], set_={
            "clicked_at": now, "click_count": table.c.click_count + 1, "updated_at": now}))
    return item.url


def digest_image(session: Session, *, token: str) -> tuple[bytes, str] | None:
    """The digest's image by its e-mail token (works for any storage backend)."""
    digest = session.exec(select(Digest).where(Digest.open_token == token)).first() if token and len(token) <= 64 else None
    if digest is None or not digest.image_key:
        return None
    try:
        data = get_storage().get(digest.image_key)
    except (FileNotFoundError, ValueError):
        return None
    return data, ("image/jpeg" if digest.image_key.endswith(".jpg") else f"image/{digest.image_key.rsplit('.', 1)[-1]}")


# ---- reading -----------------------------------------------------------------------------------------

def _view(session: Session, digest: Digest) -> DigestView:
    items = list(session.exec(select(DigestItem).where(DigestItem.digest_id == digest.id).order_by(DigestItem.position)))
    deliveries = list(session.exec(select(DigestDelivery).where(DigestDelivery.digest_id == digest.id)
                                   .order_by(DigestDelivery.created_at.desc(), DigestDelivery.id.desc())))
    image_url = ""
    if digest.image_key:
        try:
            image_url = get_storage().url(digest.image_key)
        except ValueError:
            image_url = ""
    return DigestView(
        id=digest.id, day=digest.day, status=digest.status, title=digest.title, summary=digest.summary,
        provider_label=digest.provider_label, image_url=image_url, error=digest.error,
        open_count=digest.open_count, click_count=sum(i.click_count for i in items), created_at=digest.created_at,
        generated_at=digest.generated_at, delivered_at=digest.delivered_at,
        items=[DigestItemView(i.position, i.story_id, i.title, i.url, i.source_names, i.score, i.summary,
                              list(i.key_points), list(i.hashtags), i.click_count) for i in items],
        deliveries=[DeliveryView(d.channel, d.status, d.target, d.error, d.created_at) for d in deliveries],
    )


def list_digests(session: Session, *, user_id: int, limit: int = 14) -> list[DigestView]:
    rows = session.exec(select(Digest).where(Digest.user_id == user_id)
                        .order_by(Digest.day.desc(), Digest.id.desc()).limit(limit))
    return [_view(session, digest) for digest in rows]


def get_digest(session: Session, *, user_id: int, digest_id: int) -> DigestView:
    digest = session.get(Digest, digest_id)
    if digest is None or digest.user_id != user_id:
        raise NotFound("This digest no longer exists.")
    return _view(session, digest)


# ---- the scheduler's side ----------------------------------------------------------------------

def sweep_interrupted(session: Session, *, now: datetime | None = None) -> int:
    """Builds whose lease ran out (their process died) become `failed`, with a retry."""
    now = now or utcnow()
    stale = list(session.exec(select(Digest).where(Digest.status == "generating", Digest.claimed_until < now)
                              .with_for_update(skip_locked=True)))
    for digest in stale:
        digest.status, digest.claimed_until = "failed", None
        digest.error = "The build was interrupted (the server may have restarted). Try again."
        session.add(digest)
    return len(stale)


def claim_due_users(session: Session, *, now: datetime | None = None, limit: int = 20) -> list[tuple[int, date]]:
    """Users whose digest time has come, each with the local day to build; their next time is
    set in the same transaction, so two schedulers never both take a user."""
    now = now or utcnow()
    rows = session.exec(
        select(FeedSettings, User).join(User, User.id == FeedSettings.user_id)
        .where(FeedSettings.auto_generate, FeedSettings.next_digest_at <= now)
        .order_by(FeedSettings.next_digest_at).limit(limit)
        .with_for_update(skip_locked=True, of=FeedSettings)
    ).all()
    readers = set(session.exec(select(FeedSource.user_id).where(
        FeedSource.user_id.in_([user.id for _, user in rows]), FeedSource.enabled).distinct()))
    due = []
    for prefs, user in rows:
        if user.id in readers:  # no source, no digest (but the next time still moves on)
            due.append((user.id, settings.local_day(user, now)))
        prefs.next_digest_at = settings.next_digest_at(prefs.digest_time, user, now)
        session.add(prefs)
    return due


def build_due_digests(*, session_factory: SessionFactory = session_scope, now: datetime | None = None,
                      limit: int = 20) -> list[int]:
    """The scheduler job: sweep interrupted builds, then build every due reader's digest."""
    now = now or utcnow()
    with session_factory() as session:
        sweep_interrupted(session, now=now)
        due = claim_due_users(session, now=now, limit=limit)
    built = []
    for user_id, day in due:
        try:
            digest_id = build_digest(session_factory=session_factory, user_id=user_id, day=day, now=now)
        except ServiceError as exc:  # e.g. a build of the same digest already running
            log.info("digest for user %s skipped: %s", user_id, exc)
            continue
        if digest_id is not None:
            built.append(digest_id)
    return built
