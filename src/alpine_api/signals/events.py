"""Signal events: recorded with the signal in its transaction, published after commit.

Every signal write that subscribers must hear of (published, changed) runs inside
`signal_write`: the body does its own statements on `write.tx` and names the signals to
announce with `write.record`; the event rows are appended last, so the counter's row
lock (see sql/stream/append_event.sql) is held only from then until commit. After the
commit the events go out on the live channel. A failed publish loses nothing: the event
is already in PostgreSQL, and every worker's hub reads anything it did not hear live
from there within a second (signals/hub.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

import msgspec
from litestar.response import ServerSentEventMessage

from alpine_api.config import TIERS
from alpine_api.db.database import Transaction
from alpine_api.redis.client import REDIS_ERRORS
from alpine_api.redis.pubsub import EventChannel
from alpine_api.services import Services
from alpine_api.signals import stream_queries
from alpine_api.signals.schemas import Signal

log = logging.getLogger(__name__)

EventKind = Literal["signal", "signal.updated"]
PUBLISHED: EventKind = "signal"
UPDATED: EventKind = "signal.updated"


class Event(ServerSentEventMessage):
    """One stream event, encoded once for every stream that sends it (Litestar's
    ServerSentEventMessage would encode it again per stream)."""

    def __init__(self, event_id: int, kind: str, tier: str, payload: str) -> None:
        super().__init__(data=payload, event=kind, id=event_id)
        self.event_id = event_id
        self.payload = payload
        self.tier = tier
        self.wire = super().encode()

    def encode(self) -> bytes:
        return self.wire

    def to_channel(self) -> bytes:
        """`<id> <kind> <tier> <Signal JSON>`, the live channel's message."""
        return f"{self.event_id} {self.event} {self.tier} {self.payload}".encode()

    @classmethod
    def from_channel(cls, message: bytes) -> Event:
        event_id, kind, tier, payload = message.decode().split(" ", 3)
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}")
        return cls(int(event_id), kind, tier, payload)

    @classmethod
    def from_stored(cls, stored: stream_queries.StoredEvent) -> Event:
        return cls(stored.id, stored.kind, stored.tier, stored.payload)


@dataclass(slots=True)
class SignalWrite:
    tx: Transaction
    pending: list[tuple[EventKind, Signal]] = field(default_factory=list)

    def record(self, kind: EventKind, signal: Signal) -> None:
        self.pending.append((kind, signal))


@asynccontextmanager
async def signal_write(svc: Services) -> AsyncIterator[SignalWrite]:
    """`async with signal_write(svc) as write:` one transaction; its events are stored
    in it and published once it has committed."""
    events: list[Event] = []
    async with svc.db.transaction() as tx:
        write = SignalWrite(tx)
        yield write
        for kind, signal in write.pending:
            payload = msgspec.json.encode(signal).decode()
            event_id = await stream_queries.append_event(
                tx, kind=kind, signal_id=signal.id, tier=signal.tier, payload=payload
            )
            events.append(Event(event_id, kind, signal.tier, payload))
    channel = EventChannel(svc.redis)
    for event in events:
        try:
            await channel.publish(event.to_channel())
        except REDIS_ERRORS as exc:
            log.warning(
                "event %s not published live (%s); streams read it from PostgreSQL",
                event.event_id,
                type(exc).__name__,
            )
