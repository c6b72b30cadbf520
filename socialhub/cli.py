"""The `socialhub` command: run, migrate, seed, scheduler, rotate-keys, create-user, verify-email, notify."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from socialhub.launcher import announce_demo, ensure_database, migrate, run, seed_demo_data






def _rotate_keys() -> None:
    from socialhub.core import crypto
    from socialhub.core.db import session_scope
    from socialhub.identity import users
    from socialhub.channels import accounts as platform_accounts, connect

    if not os.environ.get("SOCIALHUB_KEYS"):
        kid = crypto.rotate_key_file()
        print(f"new current key: {kid}")
    with session_scope() as session:
        count = (users.reencrypt_provider_keys(session) + platform_accounts.reencrypt_tokens(session)
                 + connect.reencrypt_app_secrets(session))
    print(f"re-encrypted {count} secret(s) with the current key")


def _create_user(args) -> None:
    from socialhub.core.db import session_scope
    from socialhub.identity import users
    from socialhub.core.errors import ServiceError

    password = args.password or getpass.getpass("Password: ")
    try:
        with session_scope() as session:
            user = users.sign_up(session, name=args.name, email=args.email, password=password,
                                 timezone=args.timezone, verified=args.verified)
    except ServiceError as exc:
        raise SystemExit(f"error: {exc}")
    print(f"created user {user.id} <{user.email}>")


def _verify_email(args) -> None:
    """The operator vouches for a user's address (a server without SMTP cannot send the link)."""
    from sqlmodel import select

    from socialhub.core.db import session_scope
    from socialhub.core.models import utcnow
    from socialhub.identity.models import User

    with session_scope() as session:
        user = session.exec(select(User).where(User.email == args.email.strip().lower())).first()
        if user is None:
            raise SystemExit(f"error: no user with e-mail {args.email}")
        user.email_verified_at = user.email_verified_at or utcnow()
        session.add(user)
    print(f"{user.email} is verified")


def _notify(args) -> None:
    from sqlmodel import select

    from socialhub.core.db import session_scope
    from socialhub.identity.models import User
    from socialhub.identity import notifications

    with session_scope() as session:
        user = session.exec(select(User).where(User.email == args.email.lower())).first()
        if user is None:
            raise SystemExit(f"error: no user with e-mail {args.email}")
        notifications.notify(session, user_id=user.id, title=args.title, body=args.body, kind="cli")
    print("notification sent")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="socialhub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start PostgreSQL (embedded unless DATABASE_URL), the scheduler and the app")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("seed", help="load the labelled demo data (once)")
    sub.add_parser("scheduler", help="run the scheduler process")
    sub.add_parser("rotate-keys", help="add a new encryption key and re-encrypt stored secrets")
    create = sub.add_parser("create-user", help="create an account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--password", help="prompted for when left out")
    create.add_argument("--timezone", default="UTC")
    create.add_argument("--verified", action="store_true",
                        help="mark the e-mail address verified (you vouch for it); else a link is e-mailed")
    verify = sub.add_parser("verify-email", help="mark a user's e-mail address verified (you vouch for it)")
    verify.add_argument("--email", required=True)
    notify = sub.add_parser("notify", help="send an in-app notification to a user (shows up live)")
    notify.add_argument("--email", required=True)
    notify.add_argument("--title", required=True)
    notify.add_argument("--body", default="")
    args = parser.parse_args(argv)

    if args.command == "run":

        return run()
    embedded = not os.environ.get("DATABASE_URL", "").strip()
    with ensure_database():
        if args.command == "migrate":
            migrate()
            print("database is up to date")
        elif args.command == "seed":
            migrate()
            password = seed_demo_data(published_password=embedded)
            announce_demo(password)
            if password is None:
                print("demo data was already loaded")
        elif args.command == "scheduler":
            from scheduler.main import main as scheduler_main

            return scheduler_main([])
        elif args.command == "rotate-keys":
            _rotate_keys()
        elif args.command == "create-user":
            _create_user(args)
        elif args.command == "verify-email":
            _verify_email(args)
        elif args.command == "notify":
            _notify(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
