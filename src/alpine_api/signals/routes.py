"""Signals: the subscriber feed, one signal, the stream (`router`); the admin list, create
and patch (`admin_router`, behind `admin_guard`).

Creating or changing a signal is one transaction (queries.py) that also records its
stream event (events.py). Every write bumps the signals cache generation, so the next
read of /subscribed is computed afresh.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, QueryParameter

from alpine_api.auth.current import UserRequest, admin_guard
from alpine_api.caching import SIGNALS, cached_json, invalidate_signals
from alpine_api.pagination import Page, PageRequest, RowId, provide_page
from alpine_api.services import services
from alpine_api.signals import queries
from alpine_api.signals.events import PUBLISHED, UPDATED, signal_write
from alpine_api.signals.schemas import SYMBOL_PATTERN, Signal, SignalCreate, SignalPatch
from alpine_api.signals.stream import stream_signals

SymbolQuery = Annotated[
    str | None, QueryParameter(pattern=SYMBOL_PATTERN, description="one symbol (any case)")
]
NOT_FOUND = "Signal not found"


@get("/subscribed", summary="Active signals visible to the caller's tier, newest first")
async def list_subscribed(
    request: UserRequest,
    page: NamedDependency[PageRequest],
    min_confidence: Annotated[float, QueryParameter(ge=0, le=1)] = 0.0,
    symbol: SymbolQuery = None,
) -> Response[Page[Signal]]:
    user = request.user
    db = services(request).db

    async def compute() -> Page[Signal]:
        return await queries.list_subscribed(
            db, tier=user.tier, min_confidence=min_confidence, symbol=symbol, page=page
        )

    return await cached_json(request, SIGNALS, user, compute)  # type: ignore[return-value]


@get("/{signal_id:int}", summary="One active signal, if the caller's tier may see it")
async def get_signal(request: UserRequest, signal_id: RowId) -> Signal:
    tier = request.user.tier
    signal = await queries.get_visible(services(request).db, signal_id=signal_id, tier=tier)
    if signal is None:
        raise NotFoundException(detail=NOT_FOUND)
    return signal


@get("", summary="All signals (admin), newest first")
async def admin_list(
    request: UserRequest,
    page: NamedDependency[PageRequest],
    symbol: SymbolQuery = None,
    is_active: Annotated[bool | None, QueryParameter()] = None,
) -> Page[Signal]:
    return await queries.admin_list(
        services(request).db, symbol=symbol, is_active=is_active, page=page
    )


@post("", summary="Create a signal and notify its subscribers (admin)")
async def create_signal(request: UserRequest, data: JSONBody[SignalCreate]) -> Signal:
    svc = services(request)
    async with signal_write(svc) as write:
        signal = await queries.create(write.tx, data=data, author_id=request.user.id)
        write.record(PUBLISHED, signal)
    await invalidate_signals(svc)
    return signal


@patch("/{signal_id:int}", summary="Change a signal (admin)")
async def update_signal(
    request: UserRequest, signal_id: RowId, data: JSONBody[SignalPatch]
) -> Signal:
    svc = services(request)
    async with signal_write(svc) as write:
        signal = await queries.update(write.tx, signal_id=signal_id, patch=data)
        if signal is None:
            raise NotFoundException(detail=NOT_FOUND)
        write.record(UPDATED, signal)
    await invalidate_signals(svc)
    return signal


router = Router(
    "/api/signals",
    route_handlers=[list_subscribed, get_signal, stream_signals],
    dependencies={"page": provide_page},
    tags=["signals"],
)
admin_router = Router(
    "/api/signals",
    route_handlers=[admin_list, create_signal, update_signal],
    dependencies={"page": provide_page},
    guards=[admin_guard],
    tags=["signals"],
)
