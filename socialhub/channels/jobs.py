"""Channels jobs: pruning OAuth states that were never used (a connect the person abandoned)."""

from __future__ import annotations

from sqlalchemy import delete

from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.channels.models import OAuthState


def cleanup_oauth_states() -> int:
    """Delete expired OAuth states; returns how many went."""
    with session_scope() as session:
        return session.execute(delete(OAuthState).where(OAuthState.expires_at < utcnow())).rowcount or 0


JOBS = {
    "cleanup_oauth_states": (cleanup_oauth_states, {"trigger": "interval", "minutes": 15}, "shared"),
}
