"""Bodies of /api/users and /api/admin/users."""

from __future__ import annotations

import msgspec

from alpine_api.auth.schemas import CurrentUser, FullName
from alpine_api.subscriptions.schemas import Subscription


class Profile(CurrentUser, frozen=True):
    """GET /api/users/profile: the user and their active subscription, if any."""

    subscription: Subscription | None


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True):
    full_name: FullName | None


class AdminUserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    is_active: bool | None = None
    is_admin: bool | None = None
