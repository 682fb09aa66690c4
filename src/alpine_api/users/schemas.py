"""Bodies of /api/users and /api/admin/users."""

from __future__ import annotations

from typing import Any

import msgspec

from alpine_api.auth.current import CurrentUser, record_from_row
from alpine_api.auth.schemas import FullName
from alpine_api.subscriptions.schemas import Subscription


class Profile(CurrentUser, frozen=True):
    """GET /api/users/profile: the user and their active subscription, if any."""

    subscription: Subscription | None


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    full_name: FullName | None


class AdminUserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    is_active: bool | None = None
    is_admin: bool | None = None


def profile_from_row(row: Any) -> Profile:
    """From users.get_profile: the user's columns, and the subscription's as `sub_*`."""
    subscription = None
    if row["sub_id"] is not None:
        subscription = Subscription(
            id=row["sub_id"],
            tier=row["sub_tier"],
            status=row["sub_status"],
            price_cents=row["sub_price_cents"],
            currency=row["sub_currency"],
            started_at=row["sub_started_at"],
            current_period_end=row["sub_current_period_end"],
            canceled_at=row["sub_canceled_at"],
        )
    user = msgspec.structs.asdict(record_from_row(row))
    return Profile(**user, subscription=subscription)
