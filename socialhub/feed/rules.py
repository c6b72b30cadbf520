"""Rules, Miniflux-style: block items, or keep only items, whose field matches a pattern.

A rule is (action, field, pattern): `block` hides every item that matches; once a user has any
`keep` rule, only items matching one of them stay. Fields: title, url, author, content (the
item's plain text), tag, or any of them.

Patterns are PostgreSQL regular expressions matched case-insensitively (`~*`), evaluated by
the database: the same engine checks a pattern, previews it and applies it, its automaton does
not backtrack catastrophically the way Python's `re` can on most hostile patterns, and every
evaluation runs under a statement timeout. Decisions are stored on the user's entries
(`FeedEntry.blocked`) when items arrive and re-applied to all of the user's entries whenever a
rule is added or removed, so reading never evaluates a pattern.

Timeouts: a page's preview and saving (all of the reader's stories) get `TIMEOUT_MS` and say
so when a pattern is too slow. Rules applied to arriving items run inside the refresh's
transaction, so they get `INGEST_TIMEOUT_MS`; a rule that cannot finish in it (backreferences
can make PostgreSQL's engine backtrack too) is turned off (`disabled_at`) and its owner is told
with a notification, instead of being skipped silently on every refresh.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from socialhub.core.models import utcnow
from socialhub.feed.models import FeedRule, RULE_ACTIONS, RULE_FIELDS
from socialhub.feed import primary
from socialhub.core.errors import NotFound, ValidationError
from socialhub.identity import notifications

log = logging.getLogger(__name__)

MAX_RULES = 100
MAX_PATTERN = 300
PREVIEW_WINDOW = 500
TIMEOUT_MS = 2000
"""Preview and saving a rule, over all of a reader's stories, from the Sources page."""
INGEST_TIMEOUT_MS = 100
"""Rules applied to a refresh's new items, inside its transaction."""
SLOW_RULE_REASON = "Its pattern took too long to check on new stories."

_FIELD_SQL = {
    "title": "i.title ~* {p}",
    "url": "i.url ~* {p}",
    "author": "i.author ~* {p}",
    "content": "i.text ~* {p}",
    "tag": "EXISTS (SELECT 1 FROM unnest(i.tags) AS t(tag) WHERE t.tag ~* {p})",
}
FIELD_LABELS = {"title": "Title", "url": "Link", "author": "Author", "content": "Text", "tag": "Tag",
                "any": "Any of these"}
ACTION_LABELS = {"block": "Hide stories that match", "keep": "Keep only stories that match"}


@dataclass(frozen=True)
class RulePreview:
    checked: int
    matched: int
    samples: list[str]

    def sentence(self, action: str) -> str:
        if self.checked == 0:
            return "You have no stories yet to try this rule on."
        verb = "would hide" if action == "block" else "would keep"
        return f"Matches {self.matched} of your latest {self.checked} stories: it {verb} them."


def _match_sql(field: str, param: str) -> str:
    if field == "any":
        return "(" + " OR ".join(sql.format(p=param) for sql in _FIELD_SQL.values()) + ")"
    return "(" + _FIELD_SQL[field].format(p=param) + ")"


def _decision_sql(rules: list[FeedRule]) -> tuple[str, dict]:
    """SQL for "this entry is blocked" under these rules, with its parameters."""
    params: dict = {}
    blocks, keeps = [], []
    for n, rule in enumerate(rules):
        params[f"p{n}"] = rule.pattern
        (blocks if rule.action == "block" else keeps).append(_match_sql(rule.field, f":p{n}"))
    parts = []
    if blocks:
        parts.append("(" + " OR ".join(blocks) + ")")
    if keeps:
        parts.append("NOT (" + " OR ".join(keeps) + ")")
    return ("(" + " OR ".join(parts) + ")" if parts else "false"), params


class PatternTooSlow(ValidationError):
    pass


def _bounded(session: Session, sql: str, params: dict, timeout_ms: int = TIMEOUT_MS):
    """Run a pattern-evaluating statement under a statement timeout, in a savepoint (so a
    timeout rolls back only this statement and the previous timeout comes back by itself)."""
    previous = session.execute(text("SELECT current_setting('statement_timeout')")).scalar_one()
    try:
        with session.begin_nested():
            session.execute(text("SELECT set_config('statement_timeout', :v, true)"), {"v": str(timeout_ms)})
            result = session.execute(text(sql), params)
            outcome = result.all() if result.returns_rows else (result.rowcount or 0)
            session.execute(text("SELECT set_config('statement_timeout', :v, true)"), {"v": previous})
    except DBAPIError as exc:
        raise PatternTooSlow("A rule's pattern takes too long to check. Make it simpler.") from exc
    return outcome


def check_rule(session: Session, *, action: str, field: str, pattern: str) -> str:
    """Validate a rule; returns the cleaned pattern or raises a readable ValidationError."""
    if action not in RULE_ACTIONS:
        raise ValidationError("Choose whether the rule hides stories or keeps only them.")
    if field not in RULE_FIELDS:
        raise ValidationError("Choose which part of a story the rule looks at.")
    pattern = (pattern or "").strip()
    if not pattern:
        raise ValidationError("Enter a word or pattern for the rule.")
    if len(pattern) > MAX_PATTERN:
        raise ValidationError(f"Use at most {MAX_PATTERN} characters for a pattern.")
    if "\x00" in pattern:
        raise ValidationError("The pattern contains an invisible control character. Remove it and try again.")
    try:
        with session.begin_nested():
            session.execute(text("SELECT '' ~* :p"), {"p": pattern})
    except DBAPIError as exc:
        detail = str(getattr(exc.orig, "diag", None) and exc.orig.diag.message_primary or "").strip()
        raise ValidationError(f"This is not a valid pattern{': ' + detail if detail else ''}. "
                              "Use plain words, or a regular expression such as sponsor|advert.") from exc
    return pattern


def list_rules(session: Session, *, user_id: int) -> list[FeedRule]:
    return list(session.exec(select(FeedRule).where(FeedRule.user_id == user_id).order_by(FeedRule.id)))


def preview_rule(session: Session, *, user_id: int, action: str, field: str, pattern: str,
                 samples: int = 8) -> RulePreview:
    """What a rule would match among the user's latest stories, before it is saved."""
    pattern = check_rule(session, action=action, field=field, pattern=pattern)
    rows = _bounded(session, f"""
        SELECT i.title, {_match_sql(field, ':p')} AS hit
        FROM (SELECT item_id, published_at
              FROM (SELECT DISTINCT ON (story_id) story_id, item_id, published_at
                    FROM feed_item_sources WHERE user_id = :u ORDER BY story_id, item_id) one_per_story
              ORDER BY published_at DESC LIMIT :n) e
        JOIN feed_items i ON i.id = e.item_id
        ORDER BY e.published_at DESC
    """, {"u": user_id, "p": pattern, "n": PREVIEW_WINDOW})
    hits = [title for title, hit in rows if hit]
    return RulePreview(checked=len(rows), matched=len(hits), samples=hits[:samples])


def create_rule(session: Session, *, user_id: int, action: str, field: str, pattern: str) -> FeedRule:
    pattern = check_rule(session, action=action, field=field, pattern=pattern)
    count = len(list_rules(session, user_id=user_id))
    if count >= MAX_RULES:
        raise ValidationError(f"You can have at most {MAX_RULES} rules. Delete one first.")
    rule = FeedRule(user_id=user_id, action=action, field=field, pattern=pattern)
    session.add(rule)
    session.flush()
    apply_rules(session, user_id=user_id)
    return rule


def delete_rule(session: Session, *, user_id: int, rule_id: int) -> None:
    rule = session.get(FeedRule, rule_id)
    if rule is None or rule.user_id != user_id:
        raise NotFound("This rule no longer exists.")
    session.delete(rule)
    session.flush()
    apply_rules(session, user_id=user_id)


def active_rules(session: Session, *, user_id: int) -> list[FeedRule]:
    return [rule for rule in list_rules(session, user_id=user_id) if rule.disabled_at is None]


def _apply_sql(rules: list[FeedRule], only: str) -> tuple[str, dict]:
    decision, params = _decision_sql(rules)
    return f"""
        UPDATE feed_item_sources e SET blocked = {decision}
        FROM feed_items i
        WHERE i.id = e.item_id AND e.user_id = :u {only} AND e.blocked IS DISTINCT FROM {decision}
    """, params


def apply_rules(session: Session, *, user_id: int, entry_ids: list[int] | None = None) -> int:
    """Store the rules' decision on the user's entries (all, or these). Returns rows changed.

    On all entries (a rule saved or deleted) a slow pattern raises `PatternTooSlow`. On these
    entries (new items of a refresh) the rules get `INGEST_TIMEOUT_MS`, and a rule that cannot
    finish in it is turned off and its owner told (`disable_slow_rules`); the others apply.
    """
    rules = active_rules(session, user_id=user_id)
    if entry_ids is None:
        sql, params = _apply_sql(rules, "")
        changed = _bounded(session, sql, {**params, "u": user_id})
        primary.refresh_primary(session, user_id=user_id)  # (new entries get theirs from the refresh)
        return changed
    if not rules or not entry_ids:
        return 0  # new entries start unblocked
    sql, params = _apply_sql(rules, "AND e.id = ANY(:ids)")
    try:
        return _bounded(session, sql, {**params, "u": user_id, "ids": entry_ids}, INGEST_TIMEOUT_MS)
    except PatternTooSlow:
        pass
    disable_slow_rules(session, user_id=user_id, rules=rules, entry_ids=entry_ids)
    rules = active_rules(session, user_id=user_id)
    if not rules:
        return 0
    sql, params = _apply_sql(rules, "AND e.id = ANY(:ids)")
    try:
        return _bounded(session, sql, {**params, "u": user_id, "ids": entry_ids}, INGEST_TIMEOUT_MS)
    except PatternTooSlow:  # (cannot happen for long: every pass above turns a rule off)
        log.warning("rules of user %s still too slow after turning one off; new stories stay visible", user_id)
        return 0


def disable_slow_rules(session: Session, *, user_id: int, rules: list[FeedRule], entry_ids: list[int]) -> list[FeedRule]:
    """Together these rules were too slow on these entries: turn off each one that is too slow
    alone (or, if none is, the slowest), tell the owner, and re-apply the rest to all of their
    stories so that what a turned-off rule hid comes back."""
    slow, slowest = [], (0.0, None)
    for rule in rules:
        sql, params = _apply_sql([rule], "AND e.id = ANY(:ids)")
        started = time.monotonic()
        try:
            with session.begin_nested() as savepoint:  # only to time it: undone either way
                _bounded(session, sql, {**params, "u": user_id, "ids": entry_ids}, INGEST_TIMEOUT_MS)
                savepoint.rollback()
        except PatternTooSlow:
            slow.append(rule)
        took = time.monotonic() - started
        if took > slowest[0]:
            slowest = (took, rule)
    if not slow and slowest[1] is not None:
        slow = [slowest[1]]
    now = utcnow()
    for rule in slow:
        rule.disabled_at, rule.disabled_reason = now, SLOW_RULE_REASON
        session.add(rule)
        log.warning("feed rule %s of user %s turned off: too slow", rule.id, user_id)
        verb = "hides" if rule.action == "block" else "keeps"
        notifications.notify(
            session, user_id=user_id, kind="feed_rule",
            title="A feed rule was turned off",
            body=(f"Your rule “{rule.pattern}” ({FIELD_LABELS[rule.field]}) took too long to check on new "
                  f"stories, so it was turned off and no longer {verb} stories. Simplify the pattern "
                  "(back-references such as \\1 are slow) and add it again."),
            link="/feed/sources")
    session.flush()
    try:
        apply_rules(session, user_id=user_id)
    except PatternTooSlow:
        log.warning("re-applying the remaining rules of user %s timed out", user_id)
    return slow
