"""Bodies of /api/notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec


class Notification(msgspec.Struct):
    id: int
    kind: Literal["signal", "billing", "system"]
    title: str
    body: str
    signal_id: int | None
    is_read: bool
    created_at: datetime


class UnreadCount(msgspec.Struct):
    unread: int


class ReadAll(msgspec.Struct):
    updated: int
