"""The signals' SQL (sql/signals/), as typed functions.

A subscriber sees active signals whose tier is at or below their own. Creating a signal
stores it and its notification (one row per tier channel, never one per user: feeds
derive it when read); `create` and `update` run in the caller's transaction, the one
`events.signal_write` opens, so their events commit with them.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from alpine_api.db import Executor
from alpine_api.pagination import Page, PageRequest, make_page
from alpine_api.signals.schemas import Signal, SignalCreate, SignalPatch


def _signal(row: Any) -> Signal:
    # By position, several times faster than by name for a page of rows: every query
    # here selects Signal's fields in its order (tests/test_sql_files.py checks).
    return Signal(*row)


async def list_subscribed(
    db: Executor, *, tier: str, min_confidence: float, symbol: str | None, page: PageRequest
) -> Page[Signal]:
    """One page of the active signals `tier` may see, newest first, optionally of one
    symbol (any case)."""
    after = page.after
    if symbol is None:
        rows = await db.fetch(
            "signals.list_subscribed",
            tier,
            min_confidence,
            after.created_at,
            after.id,
            page.fetch,
        )
    else:
        rows = await db.fetch(
            "signals.list_subscribed_by_symbol",
            tier,
            min_confidence,
            symbol.upper(),
            after.created_at,
            after.id,
            page.fetch,
        )
    return make_page(rows, page, _signal)


async def get_visible(db: Executor, *, signal_id: int, tier: str) -> Signal | None:
    """The signal if it is active and `tier` may see it."""
    row = await db.fetchrow("signals.get_visible", signal_id, tier)
    return None if row is None else _signal(row)


async def admin_list(
    db: Executor, *, symbol: str | None, is_active: bool | None, page: PageRequest
) -> Page[Signal]:
    """One page of every signal, newest first, optionally of one symbol and/or activity."""
    after = page.after
    if symbol is None:
        rows = await db.fetch(
            "signals.admin_list", is_active, after.created_at, after.id, page.fetch
        )
    else:
        rows = await db.fetch(
            "signals.admin_list_by_symbol",
            symbol.upper(),
            is_active,
            after.created_at,
            after.id,
            page.fetch,
        )
    return make_page(rows, page, _signal)


def _notification_text(signal: Signal) -> tuple[str, str]:
    title = f"New {signal.direction} signal: {signal.symbol}"
    body = (
        f"Entry {signal.entry_price:g}, target {signal.target_price:g}, "
        f"stop loss {signal.stop_loss:g}, confidence {signal.confidence:.0%}."
    )
    return title, body


async def create(tx: Executor, *, data: SignalCreate, author_id: int) -> Signal:
    """Stores the signal (symbol upper-cased) and its notification for every tier channel
    that may see it."""
    row = await tx.fetchrow(
        "signals.insert",
        data.symbol.upper(),
        data.direction,
        data.entry_price,
        data.target_price,
        data.stop_loss,
        data.confidence,
        data.tier,
        data.note,
        author_id,
    )
    signal = _signal(row)
    title, body = _notification_text(signal)
    await tx.execute("signals.publish_notification", signal.id, signal.tier, title, body)
    return signal


async def update(tx: Executor, *, signal_id: int, patch: SignalPatch) -> Signal | None:
    """Changes the fields `patch` gives (`note: null` clears the note); None when there is
    no such signal."""
    note_given = patch.note is not UNSET
    row = await tx.fetchrow(
        "signals.update",
        signal_id,
        None if patch.is_active is UNSET else patch.is_active,
        None if patch.confidence is UNSET else patch.confidence,
        note_given,
        patch.note if note_given else None,
    )
    return None if row is None else _signal(row)
