"""Authentication's SQL, as typed functions: accounts by email (sql/users/ insert,
get_by_email, update_password_hash, upsert_admin) and the token checks and revocations
(sql/auth/)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import asyncpg

from alpine_api.auth.schemas import CurrentUser, record_from_row
from alpine_api.db import Executor
from alpine_api.tokens import Claims


class EmailTaken(Exception):
    """An account with this email already exists."""


class Credentials(NamedTuple):
    user_id: int
    password_hash: str
    is_active: bool


class TokenCheck(NamedTuple):
    user: CurrentUser
    # The presented token was revoked: by a logout, or by a deactivation after it was issued.
    revoked: bool
    # A deactivation is so recent that tokens issued before it may still be unexpired.
    cutoff_pending: bool


async def register(
    db: Executor, *, email: str, password_hash: str, full_name: str | None
) -> CurrentUser:
    """A new starter account (`email` normalised); EmailTaken when the email is."""
    try:
        row = await db.fetchrow("users.insert", email, password_hash, full_name)
    except asyncpg.UniqueViolationError:
        raise EmailTaken(email) from None
    return record_from_row(row)


async def credentials(db: Executor, *, email: str) -> Credentials | None:
    """What a login checks, for the account behind `email` (normalised), if any."""
    row = await db.fetchrow("users.get_by_email", email)
    return None if row is None else Credentials(row["id"], row["password_hash"], row["is_active"])


async def update_password_hash(db: Executor, *, user_id: int, password_hash: str) -> None:
    await db.execute("users.update_password_hash", user_id, password_hash)


async def upsert_admin(db: Executor, *, email: str, password_hash: str) -> bool:
    """Creates the admin account, or promotes and reactivates the account with `email`
    (normalised) and sets its password. True when it was created."""
    row = await db.fetchrow("users.upsert_admin", email, password_hash)
    assert row is not None
    return bool(row["created"])


async def check_token(db: Executor, *, claims: Claims, cutoff_window: int) -> TokenCheck | None:
    """The user behind the claims, and whether the token is refused; None when there is no
    such user. `cutoff_window`: how long, in seconds, tokens issued before a deactivation
    may live after it."""
    row = await db.fetchrow("auth.get_user", claims.user_id, claims.jti, claims.iat, cutoff_window)
    if row is None:
        return None
    return TokenCheck(record_from_row(row), row["revoked"], row["cutoff_pending"])


async def list_revoked(db: Executor, *, user_id: int) -> list[tuple[str, int]]:
    """The user's revoked, unexpired tokens: (jti, expiry in epoch milliseconds)."""
    rows = await db.fetch("auth.list_revoked", user_id)
    return [(row["jti"], row["expires_ms"]) for row in rows]


async def revoke_token(db: Executor, *, jti: str, user_id: int, expires_at: datetime) -> None:
    await db.execute("auth.revoke_token", jti, user_id, expires_at)


async def purge_expired_revocations(db: Executor) -> None:
    await db.execute("auth.purge_expired_revocations")
