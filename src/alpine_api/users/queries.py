"""The users' SQL (sql/users/) behind /api/users/profile and /api/admin/users, as typed
functions. (Registration, login and the admin account's upsert are auth's.)"""

from __future__ import annotations

from typing import Any

import msgspec

from alpine_api.auth.schemas import CurrentUser, record_from_row
from alpine_api.config import Tier
from alpine_api.db import Database, Executor, Reader
from alpine_api.pagination import Page, PageRequest, make_page
from alpine_api.subscriptions.schemas import Subscription
from alpine_api.users.schemas import Profile


class LastAdmin(Exception):
    """The change would leave no active admin."""


def _profile(row: Any) -> Profile:
    """From users.get_profile: the user's columns, and the subscription's as `sub_*`."""
    subscription = None
    if row["sub_id"] is not None:
        columns = {name: row[f"sub_{name}"] for name in Subscription.__struct_fields__}
        subscription = Subscription(**columns)
    user = msgspec.structs.asdict(record_from_row(row))
    return Profile(**user, subscription=subscription)


async def profile(db: Executor, *, user_id: int) -> Profile | None:
    """The user with their active subscription, if any."""
    row = await db.fetchrow("users.get_profile", user_id)
    return None if row is None else _profile(row)


async def update_profile(db: Executor, *, user_id: int, full_name: str | None) -> None:
    await db.execute("users.update_profile", user_id, full_name)


async def admin_update(
    db: Database, *, user_id: int, is_active: bool | None, is_admin: bool | None
) -> CurrentUser | None:
    """Sets what is not None; the user as they are now, None when there is no such user.
    LastAdmin (nothing changes) when it would leave no active admin."""
    async with db.transaction() as tx:
        # Locked until commit: a concurrent change of admins waits, then sees this one.
        admins = {row["id"] for row in await tx.fetch("users.lock_active_admins")}
        if (is_active is False or is_admin is False) and admins == {user_id}:
            raise LastAdmin
        row = await tx.fetchrow("users.admin_update", user_id, is_active, is_admin)
    return None if row is None else record_from_row(row)


# (filter by tier?, filter by is_active?) -> the query that has an index for it
_ADMIN_LIST_QUERIES = {
    (False, False): "users.admin_list",
    (True, False): "users.admin_list_by_tier",
    (False, True): "users.admin_list_by_active",
    (True, True): "users.admin_list_by_tier_active",
}


async def admin_list(
    db: Reader, *, tier: Tier | None, is_active: bool | None, page: PageRequest
) -> Page[CurrentUser]:
    """One page of every user, newest first, optionally only one tier and/or activity."""
    query = _ADMIN_LIST_QUERIES[tier is not None, is_active is not None]
    filters = [value for value in (tier, is_active) if value is not None]
    rows = await db.fetch(query, *filters, page.after.created_at, page.after.id, page.fetch)
    return make_page(rows, page, record_from_row)
