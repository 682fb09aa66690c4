"""`alpine-api migrate`, `seed` and `create-admin`: commands that change the database."""

from __future__ import annotations

import argparse
import asyncio
import secrets

from alpine_api.cli.common import (
    ensure_admin,
    fail,
    require_dev_extra,
    session_database_url,
    settings_or_fail,
)


def cmd_seed(args: argparse.Namespace) -> None:
    import time

    require_dev_extra("seed", "rich")
    from alpine_api.seed import SEED_PASSWORD, seed

    url = session_database_url("seed")  # triggers off for its session while it copies
    started = time.monotonic()
    counts = asyncio.run(
        seed(url, users=args.users, signals=args.signals, notifications=args.notifications)
    )
    print(
        f"seeded {counts.users} users, {counts.subscriptions} subscriptions, "
        f"{counts.payments} payments, {counts.signals} signals, "
        f"{counts.notifications} notifications in {time.monotonic() - started:.1f} s "
        f"(seeded users' password: {SEED_PASSWORD!r})"
    )


def cmd_migrate(args: argparse.Namespace) -> None:
    import psycopg

    from alpine_api.db import migrate

    url = session_database_url("migrate")
    try:
        if args.action == "apply":
            applied = migrate.apply(url)
            print("\n".join(f"applied {m}" for m in applied) or "nothing to apply")
        elif args.action == "rollback":
            undone = migrate.rollback(url, args.count)
            print("\n".join(f"rolled back {m}" for m in undone) or "nothing to roll back")
        else:
            for item in migrate.status(url):
                print(f"{'[x]' if item.applied else '[ ]'} {item.id}")
            if invalid := migrate.invalid_indexes(url):
                fail(f"INVALID index(es): {', '.join(invalid)}", 1)
    except migrate.InvalidIndexError as exc:
        fail(str(exc), 1)
    except psycopg.OperationalError as exc:
        fail(f"database unreachable: {str(exc).strip().splitlines()[0]}", 1)


def cmd_create_admin(args: argparse.Namespace) -> None:
    settings = settings_or_fail({"ALPINE_REDIS_URL": "redis://unused"})
    password = args.password or secrets.token_urlsafe(12)
    if not 8 <= len(password) <= 128:
        fail("--password: must be 8..128 characters")
    from alpine_api.auth.schemas import normalize_email

    created = asyncio.run(ensure_admin(settings, args.email, password))
    print(f"{'created' if created else 'promoted'} admin {normalize_email(args.email)}")
    if not args.password:
        print(f"password: {password}")
