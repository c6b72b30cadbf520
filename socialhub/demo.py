"""Labelled demo data, loaded once, through the same services real users go through.

The demo account is marked `is_demo`, its name says "(demo)", and everything it contains is
created by the ordinary sign-up, team and notification services. Its addresses are created
verified (they are ours, under `.local`).

`DEMO_PASSWORD` is published (README, the run command's banner): it is used only on the
embedded development database. Anywhere else the launcher passes a random password, printed once.
"""

from __future__ import annotations

from sqlmodel import Session, select

from socialhub.identity.models import User
from socialhub.identity import notifications, teams, users
from socialhub.core import system

DEMO_EMAIL = "demo@socialhub.local"
DEMO_PASSWORD = "explore-socialhub-2026"
DEMO_TEAMMATE_EMAIL = "sam.demo@socialhub.local"


def seed_demo(session: Session, *, password: str = DEMO_PASSWORD) -> bool:
    """Create the demo accounts once, with `password`; False if demo data was already loaded."""
    if not system.set_flag_once(session, name="demo_data_loaded"):
        return False
    if session.exec(select(User.id).where(User.email == DEMO_EMAIL)).first() is not None:
        return False
    demo = users.sign_up(session, name="Alex Rivera (demo)", email=DEMO_EMAIL, password=password,
                         timezone="Europe/Berlin", verified=True)
    sam = users.sign_up(session, name="Sam Lee (demo)", email=DEMO_TEAMMATE_EMAIL, password=password,
                        timezone="America/New_York", verified=True)
    for user in (demo, sam):
        user.is_demo = True
        session.add(user)
    brand = teams.get_team(session, team_id=demo.active_team_id, user_id=demo.id)
    teams.rename_team(session, team_id=brand.id, actor_id=demo.id, name="Rivera Studio (demo)")
    _, link = teams.invite_member(
        session, team_id=brand.id, actor_id=demo.id, email=DEMO_TEAMMATE_EMAIL, role="editor"
    )
    teams.accept_invite(session, token=link.split("token=", 1)[1], user_id=sam.id)
    notifications.notify(
        session, user_id=demo.id, kind="demo",
        title="Welcome to SocialHub (demo data)",
        body="This demo account shows how the app looks with a team. Sign up to start your own.",
        link="/settings",
    )
    return True
