"""Bodies of /api/subscriptions; `Subscription` is also part of GET /api/users/profile."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from alpine_api.config import Tier


class Plan(msgspec.Struct):
    tier: Tier
    name: str
    price_cents: int
    currency: str


class Subscription(msgspec.Struct):
    id: int
    tier: Tier
    status: Literal["active", "canceled"]
    price_cents: int
    currency: str
    started_at: datetime
    current_period_end: datetime
    canceled_at: datetime | None


class SubscribeRequest(msgspec.Struct, forbid_unknown_fields=True):
    tier: Tier
