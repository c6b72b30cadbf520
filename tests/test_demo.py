"""Demo data: loaded once, through the ordinary services, clearly labelled."""

from __future__ import annotations

import pytest
from sqlmodel import select

from socialhub.core.errors import ValidationError

from socialhub.identity.models import Team, TeamMember, User
from socialhub.identity.models import Notification
from socialhub.identity import teams, users as accounts
from socialhub import demo


def test_seed_demo_loads_once(session):
    assert demo.seed_demo(session) is True
    session.commit()
    assert demo.seed_demo(session) is False
    session.commit()
    assert len(session.exec(select(User)).all()) == 2


def test_demo_users_are_flagged_and_share_one_team(session):
    demo.seed_demo(session)
    session.commit()
    users = {u.email: u for u in session.exec(select(User))}
    owner, mate = users[demo.DEMO_EMAIL], users[demo.DEMO_TEAMMATE_EMAIL]
    assert owner.is_demo and mate.is_demo
    assert "(demo)" in owner.name and "(demo)" in mate.name
    assert owner.active_team_id == mate.active_team_id
    team = session.get(Team, owner.active_team_id)
    assert team.name == "Rivera Studio (demo)"
    roles = {m.user_id: m.role for m in session.exec(select(TeamMember).where(TeamMember.team_id == team.id))}
    assert roles == {owner.id: "owner", mate.id: "editor"}
    assert session.exec(select(Notification).where(Notification.user_id == owner.id)).one().kind == "demo"


def test_demo_account_can_sign_in_with_the_documented_password(session):
    demo.seed_demo(session)
    session.commit()
    user = accounts.authenticate(session, email=demo.DEMO_EMAIL, password=demo.DEMO_PASSWORD, ip="127.0.0.1")
    assert user.is_demo
    members = teams.list_members(session, team_id=user.active_team_id, user_id=user.id)
    assert [m.email for m in members] == [demo.DEMO_EMAIL, demo.DEMO_TEAMMATE_EMAIL]


def test_seed_demo_does_not_touch_a_real_account_with_the_demo_address(session):
    accounts.sign_up(session, name="Real Person", email=demo.DEMO_EMAIL, password="a real long password")
    session.commit()
    assert demo.seed_demo(session) is False
    session.commit()
    (user,) = session.exec(select(User)).all()
    assert user.name == "Real Person" and not user.is_demo


def test_demo_addresses_are_created_verified(session):
    demo.seed_demo(session)
    session.commit()
    assert all(accounts.is_verified(u) for u in session.exec(select(User)))


def test_outside_the_embedded_database_the_demo_password_is_random(database_url, session, capsys):
    """`socialhub run` with DATABASE_URL set: never the password the README publishes."""
    from socialhub import launcher

    password = launcher.seed_demo_data(published_password=False)
    launcher.announce_demo(password)
    assert password and password != demo.DEMO_PASSWORD
    out = capsys.readouterr().out
    assert f"{demo.DEMO_EMAIL} / {password}" in out and demo.DEMO_PASSWORD not in out
    assert accounts.authenticate(session, email=demo.DEMO_EMAIL, password=password, ip="127.0.0.1").is_demo
    with pytest.raises(ValidationError):
        accounts.authenticate(session, email=demo.DEMO_EMAIL, password=demo.DEMO_PASSWORD, ip="127.0.0.2")
    assert launcher.seed_demo_data(published_password=False) is None  # once; nothing printed again


def test_the_embedded_database_gets_the_published_password(database_url, session):
    from socialhub import launcher

    assert launcher.seed_demo_data(published_password=True) == demo.DEMO_PASSWORD
