"""Signal bodies: what the API answers and what admins may send."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from alpine_api.auth.schemas import NO_NUL_PATTERN
from alpine_api.config import Tier

# 1-20 chars of A-Z 0-9 . - / ; lower case is accepted and stored upper-cased.
SYMBOL_PATTERN = r"^[A-Za-z0-9./-]{1,20}$"
Symbol = Annotated[str, Meta(pattern=SYMBOL_PATTERN, description="1-20 chars of A-Z 0-9 . - /")]
Price = Annotated[float, Meta(gt=0, lt=1e12, description="positive price")]
Confidence = Annotated[float, Meta(ge=0, le=1, description="0..1")]
Note = Annotated[str, Meta(max_length=2000, pattern=NO_NUL_PATTERN)]
Direction = Literal["long", "short"]


class Signal(msgspec.Struct):
    id: int
    symbol: str
    direction: Direction
    entry_price: float
    target_price: float
    stop_loss: float
    confidence: float
    tier: Tier
    is_active: bool
    note: str | None
    created_at: datetime


class SignalCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    symbol: Symbol
    direction: Direction
    entry_price: Price
    target_price: Price
    stop_loss: Price
    confidence: Confidence
    tier: Tier = "starter"
    note: Note | None = None


class SignalPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields given change; `note: null` clears the note."""

    is_active: bool | UnsetType = UNSET
    confidence: Confidence | UnsetType = UNSET
    note: Note | UnsetType | None = UNSET
