"""Signals: the subscriber feed, one signal, and the admin list / create / patch.

A subscriber sees active signals whose tier is at or below their own. Creating a signal
stores it and its notification (one row per tier channel, never one per user: feeds derive
it when read) in one transaction. Every write bumps the signals cache generation, so
the next read of /subscribed is computed afresh.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, QueryParameter
from msgspec import UNSET

from alpine_api.auth.current import admin_guard, current_user, user_guard
from alpine_api.caching import SIGNALS, cached_json, invalidate_signals
from alpine_api.pagination import Page, PageRequest, RowId, make_page, provide_page
from alpine_api.services import services
from alpine_api.signals.events import PUBLISHED, UPDATED, signal_write
from alpine_api.signals.schemas import SYMBOL_PATTERN, Signal, SignalCreate, SignalPatch
from alpine_api.signals.stream import stream_signals

SymbolQuery = Annotated[
    str | None, QueryParameter(pattern=SYMBOL_PATTERN, description="one symbol (any case)")
]
NOT_FOUND = "Signal not found"


def to_signal(row: Any) -> Signal:
    return Signal(**row)


@get("/subscribed", summary="Active signals visible to the caller's tier, newest first")
async def list_subscribed(
    request: Request[Any, Any, Any],
    page: NamedDependency[PageRequest],
    min_confidence: Annotated[float, QueryParameter(ge=0, le=1)] = 0.0,
    symbol: SymbolQuery = None,
) -> Response[Page[Signal]]:
    user = await current_user(request)
    db = services(request).db

    async def compute() -> Page[Signal]:
        after = page.after
        if symbol is None:
            rows = await db.fetch(
                "signals.list_subscribed",
                user.tier,
                min_confidence,
                after.created_at,
                after.id,
                page.fetch,
            )
        else:
            rows = await db.fetch(
                "signals.list_subscribed_by_symbol",
                user.tier,
                min_confidence,
                symbol.upper(),
                after.created_at,
                after.id,
                page.fetch,
            )
        return make_page(rows, page, to_signal)

    return await cached_json(request, SIGNALS, user, compute)  # type: ignore[return-value]


@get("/{signal_id:int}", summary="One active signal, if the caller's tier may see it")
async def get_signal(request: Request[Any, Any, Any], signal_id: RowId) -> Signal:
    user = await current_user(request)
    row = await services(request).db.fetchrow("signals.get_visible", signal_id, user.tier)
    if row is None:
        raise NotFoundException(detail=NOT_FOUND)
    return to_signal(row)


@get("", guards=[admin_guard], summary="All signals (admin), newest first")
async def admin_list(
    request: Request[Any, Any, Any],
    page: NamedDependency[PageRequest],
    symbol: SymbolQuery = None,
    is_active: Annotated[bool | None, QueryParameter()] = None,
) -> Page[Signal]:
    db = services(request).db
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
    return make_page(rows, page, to_signal)


def _notification_text(signal: Signal) -> tuple[str, str]:
    title = f"New {signal.direction} signal: {signal.symbol}"
    body = (
        f"Entry {signal.entry_price:g}, target {signal.target_price:g}, "
        f"stop loss {signal.stop_loss:g}, confidence {signal.confidence:.0%}."
    )
    return title, body


@post("", guards=[admin_guard], summary="Create a signal and notify its subscribers (admin)")
async def create_signal(request: Request[Any, Any, Any], data: JSONBody[SignalCreate]) -> Signal:
    admin = await current_user(request)
    svc = services(request)
    async with signal_write(svc) as write:
        tx = write.tx
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
            admin.id,
        )
        signal = to_signal(row)
        title, body = _notification_text(signal)
        await tx.execute("signals.publish_notification", signal.id, signal.tier, title, body)
        write.record(PUBLISHED, signal)
    await invalidate_signals(svc)
    return signal


@patch("/{signal_id:int}", guards=[admin_guard], summary="Change a signal (admin)")
async def update_signal(
    request: Request[Any, Any, Any], signal_id: RowId, data: JSONBody[SignalPatch]
) -> Signal:
    svc = services(request)
    note_given = data.note is not UNSET
    async with signal_write(svc) as write:
        row = await write.tx.fetchrow(
            "signals.update",
            signal_id,
            None if data.is_active is UNSET else data.is_active,
            None if data.confidence is UNSET else data.confidence,
            note_given,
            data.note if note_given else None,
        )
        if row is None:
            raise NotFoundException(detail=NOT_FOUND)
        signal = to_signal(row)
        write.record(UPDATED, signal)
    await invalidate_signals(svc)
    return signal


router = Router(
    "/api/signals",
    route_handlers=[
        list_subscribed,
        get_signal,
        admin_list,
        create_signal,
        update_signal,
        stream_signals,
    ],
    dependencies={"page": provide_page},
    guards=[user_guard],
    tags=["signals"],
)
