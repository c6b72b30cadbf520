"""The `socialhub` command, run as a real process against the test's database."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlmodel import select

from socialhub.core import crypto
from socialhub.core.config import ROOT
from socialhub.identity.models import ProviderKey, User
from socialhub.identity.models import Notification
from socialhub.identity import users


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "socialhub.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, **env))


def test_migrate_is_idempotent(database_url):
    first, second = cli("migrate"), cli("migrate")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "up to date" in second.stdout


def test_create_user_then_sign_in_with_it(database_url, session):
    result = cli("create-user", "--email", "Cli@Example.com", "--name", "Cli User", "--password", "a long cli phrase")
    assert result.returncode == 0, result.stderr
    user = users.authenticate(session, email="cli@example.com", password="a long cli phrase", ip="t")
    assert user.name == "Cli User"
    weak = cli("create-user", "--email", "weak@example.com", "--name", "Weak", "--password", "123")
    assert weak.returncode != 0 and "at least 10 characters" in weak.stderr
    assert session.exec(select(User).where(User.email == "weak@example.com")).first() is None


def test_seed_on_a_configured_database_prints_a_random_demo_password(database_url, session):
    from socialhub import demo

    result = cli("seed")
    assert result.returncode == 0, result.stderr
    assert demo.DEMO_PASSWORD not in result.stdout
    password = result.stdout.split(f"{demo.DEMO_EMAIL} / ", 1)[1].split()[0]
    assert users.authenticate(session, email=demo.DEMO_EMAIL, password=password, ip="t").is_demo
    again = cli("seed")
    assert "already loaded" in again.stdout and password not in again.stdout


def test_create_user_verified_and_verify_email(database_url, session):
    assert cli("create-user", "--email", "a@example.com", "--name", "A", "--password", "a long cli phrase",
               "--verified").returncode == 0
    assert cli("create-user", "--email", "b@example.com", "--name", "B", "--password", "a long cli phrase").returncode == 0
    verified = lambda e: session.exec(select(User.email_verified_at).where(User.email == e)).one() is not None  # noqa: E731
    assert verified("a@example.com") and not verified("b@example.com")
    result = cli("verify-email", "--email", "B@example.com")
    assert result.returncode == 0 and "verified" in result.stdout
    session.expire_all()
    assert verified("b@example.com")
    assert cli("verify-email", "--email", "nobody@example.com").returncode != 0


def test_notify_reaches_the_user_and_refuses_unknown_email(database_url, session):
    users.sign_up(session, name="Ada", email="ada@example.com", password="correct horse battery")
    session.commit()
    assert cli("notify", "--email", "ada@example.com", "--title", "Hello from the CLI").returncode == 0
    assert session.exec(select(Notification.title)).all() == ["Hello from the CLI"]
    missing = cli("notify", "--email", "nobody@example.com", "--title", "x")
    assert missing.returncode != 0 and "no user" in missing.stderr


def test_rotate_keys_reencrypts_stored_secrets_and_old_keys_still_work(database_url, session):
    user = users.sign_up(session, name="Ada", email="ada@example.com", password="correct horse battery")
    users.set_provider_key(session, user_id=user.id, provider="openai", key="sk-rotate-me-12345")
    session.commit()
    old = session.exec(select(ProviderKey)).one().ciphertext
    old_kid = crypto.token_kid(old)

    result = cli("rotate-keys")
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 1 secret" in result.stdout

    crypto.reset_keyring_cache()
    session.expire_all()
    new = session.exec(select(ProviderKey)).one().ciphertext
    assert crypto.token_kid(new) != old_kid
    assert users.get_provider_key(session, user_id=user.id, provider="openai") == "sk-rotate-me-12345"
    # The old key is kept, so a backup taken before the rotation still decrypts.
    assert crypto.decrypt(old, context=f"provider_key:{user.id}:openai") == "sk-rotate-me-12345"
