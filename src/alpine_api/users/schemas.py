"""Bodies of /api/users and /api/admin/users."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from alpine_api.auth.schemas import FullName


class ActiveSubscription(msgspec.Struct):
    id: int
    tier: str
    status: str
    price_cents: int
    currency: str
    started_at: datetime
    current_period_end: datetime
    canceled_at: datetime | None


class Profile(msgspec.Struct):
    id: int
    email: str
    full_name: str | None
    tier: str
    is_active: bool
    is_admin: bool
    created_at: datetime
    subscription: ActiveSubscription | None


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    full_name: FullName | None


class AdminUserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    is_active: bool | None = None
    is_admin: bool | None = None


def profile_from_row(row: Any) -> Profile:
    subscription = None
    if row["sub_id"] is not None:
        subscription = ActiveSubscription(
            id=row["sub_id"],
            tier=row["sub_tier"],
            status=row["sub_status"],
            price_cents=row["sub_price_cents"],
            currency=row["sub_currency"],
            started_at=row["sub_started_at"],
            current_period_end=row["sub_current_period_end"],
            canceled_at=row["sub_canceled_at"],
        )
    return Profile(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        tier=row["tier"],
        is_active=row["is_active"],
        is_admin=row["is_admin"],
        created_at=row["created_at"],
        subscription=subscription,
    )
