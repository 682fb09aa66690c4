"""Each worker's stream hub: one live subscription, fanned out to the worker's streams.

Ordering and completeness rest on the event ids: they are dense and commit in order
(sql/stream/append_event.sql), so the hub knows exactly what it has delivered, `last_id`,
and that the next event is `last_id + 1`. It delivers events strictly in id order:
- a live message with a larger id first fills the hole from PostgreSQL;
- a live message it already has (PostgreSQL got there first) is dropped;
- after every (re)subscription, and once a second whatever happens, it reads PostgreSQL
  for anything committed past `last_id`. A Valkey outage therefore delays delivery by
  at most about a second and loses nothing; open streams catch up by themselves.

Litestar's channels plugin (litestar.channels) was the first choice for this and does
not fit: its subscriber task ends on the first Redis connection error and never
subscribes again, it has no sharded pub/sub (SPUBLISH / SSUBSCRIBE) for a cluster, and
it has no point at which to re-read PostgreSQL after a reconnect or a missed message.

The hub also keeps streams honest: twice a second one query checks every open stream's
user and token (tier changed, deactivated, revoked: the stream ends), expired tokens end
their streams, every 10 s each stream gets a keep-alive comment and its slot lease
(redis/stream_slots.py) is renewed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from litestar.response import ServerSentEventMessage

from alpine_api.config import TIERS
from alpine_api.db import Database, DatabaseUnavailable
from alpine_api.metrics import SIGNAL_STREAMS_OPEN
from alpine_api.redis.client import REDIS_ERRORS
from alpine_api.redis.pubsub import EventChannel
from alpine_api.redis.stream_slots import StreamSlots
from alpine_api.services import Services
from alpine_api.signals import stream_queries
from alpine_api.signals.events import Event

log = logging.getLogger(__name__)

STREAMS_PER_USER = 5
RANK: dict[str, int] = {tier: rank for rank, tier in enumerate(TIERS)}
ALL_TIERS = TIERS[-1]
TICK_SECONDS = 0.5
CATCH_UP_TICKS = 2  # PostgreSQL is asked for missed events every second
KEEP_ALIVE_TICKS = 20  # a comment (and slot lease renewal) every 10 s
PURGE_TICKS = 1200  # events older than the replay window are dropped every 10 min
BATCH = 500
MAX_BACKLOG = 1000  # events queued for a stream that does not read: it is ended
# What a hub step survives: the step is skipped and tried again on a later tick.
HUB_ERRORS: tuple[type[BaseException], ...] = (*REDIS_ERRORS, DatabaseUnavailable)
KEEP_ALIVE = ServerSentEventMessage(data=None, comment="keep-alive")

Item = ServerSentEventMessage | None  # None: the stream ends


@dataclass(eq=False, slots=True)
class OpenStream:
    user_id: int
    jti: str
    tier: str
    expires_at: float
    slot: str
    after: int = 0  # the live events it is sent have larger ids
    queue: asyncio.Queue[Item] = field(default_factory=asyncio.Queue)


class Hub:
    def __init__(self, db: Database, channel: EventChannel, slots: StreamSlots) -> None:
        self.db = db
        self.slots = slots
        self.streams: set[OpenStream] = set()
        self.last_id = 0
        self.closing = False
        self._stopped = False
        self._channel = channel
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._releases: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.last_id = await stream_queries.last_event_id(self.db)
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._tick())]

    def add(self, stream: OpenStream, resume_from: int | None) -> int:
        """Register a stream; live events past `max(resume_from, last_id)` reach it.
        Returns the id up to which the caller replays from PostgreSQL itself."""
        upto = self.last_id
        stream.after = upto if resume_from is None else max(resume_from, upto)
        self.streams.add(stream)
        SIGNAL_STREAMS_OPEN.inc()
        if self.closing:  # opened as the server began to stop
            self.end(stream)
        return upto

    def end(self, stream: OpenStream) -> None:
        """Ask the stream to finish (it sends what is queued, then closes)."""
        if stream in self.streams:
            self.streams.discard(stream)
            stream.queue.put_nowait(None)

    def remove(self, stream: OpenStream) -> None:
        """The stream's response is over: forget it and give its slot back."""
        self.streams.discard(stream)
        SIGNAL_STREAMS_OPEN.dec()
        self._background(self.slots.give_back(stream.user_id, stream.slot))

    def shutdown(self) -> None:
        """The server is stopping: refuse new streams, end the open ones now."""
        self.closing = True
        for stream in list(self.streams):
            self.end(stream)

    async def close(self) -> None:
        self.shutdown()
        self._stopped = True
        # Cancelled and told to stop: a cancellation that lands as a client library's own
        # timeout fires can come back as TimeoutError, which the loops survive by design.
        for task in self._tasks:
            task.cancel()
        await asyncio.wait(self._tasks, timeout=3.0)
        if self._releases:
            await asyncio.wait(self._releases, timeout=1.0)

    def _background(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            with contextlib.suppress(*REDIS_ERRORS):  # the slot's lease runs out by itself
                await work

        task = asyncio.create_task(run())
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    def _deliver(self, event: Event) -> None:
        rank = RANK[event.tier]
        for stream in list(self.streams):
            if RANK[stream.tier] >= rank and event.event_id > stream.after:
                if stream.queue.qsize() >= MAX_BACKLOG:
                    self.end(stream)  # it resumes with Last-Event-ID when it reconnects
                else:
                    stream.queue.put_nowait(event)
        self.last_id = event.event_id

    async def _fill(self, upto: int) -> None:
        """Deliver the committed events in (last_id, upto] from PostgreSQL (under lock)."""
        while self.last_id < upto:
            stored = await stream_queries.events_after(
                self.db, after=self.last_id, upto=upto, tier=ALL_TIERS, limit=BATCH
            )
            if not stored:  # the rest is past the retention window
                self.last_id = upto
                return
            for event in stored:
                self._deliver(Event.from_stored(event))

    async def catch_up(self) -> None:
        upto = await stream_queries.last_event_id(self.db)
        if upto > self.last_id:
            async with self._lock:
                await self._fill(upto)

    async def _on_message(self, message: bytes) -> None:
        try:
            event = Event.from_channel(message)
        except ValueError:
            log.warning("ignored a malformed message on the signal event channel")
            return
        if event.event_id <= self.last_id:
            return
        async with self._lock:
            if event.event_id <= self.last_id:
                return
            try:
                await self._fill(event.event_id - 1)
            except DatabaseUnavailable:
                return  # delivered in order by a later catch-up
            self._deliver(event)

    async def _listen(self) -> None:
        delay = 0.1
        while not self._stopped:
            try:
                async with self._channel.subscribe() as messages:
                    delay = 0.1
                    await self.catch_up()  # whatever was published while unsubscribed
                    async for message in messages:
                        if self._stopped:
                            return
                        if message is not None:
                            await self._on_message(message)
            except HUB_ERRORS as exc:
                log.warning("signal event subscription lost (%s); retrying", type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _tick(self) -> None:
        tick = 0
        while not self._stopped:
            await asyncio.sleep(TICK_SECONDS)
            tick += 1
            await _guarded(self.check_sessions)
            if tick % CATCH_UP_TICKS == 0:
                await _guarded(self.catch_up)
            if tick % KEEP_ALIVE_TICKS == 0:
                for stream in self.streams:
                    stream.queue.put_nowait(KEEP_ALIVE)
                await _guarded(self._renew_slots)
            if tick % PURGE_TICKS == 0:
                await _guarded(self._purge)

    async def _renew_slots(self) -> None:
        if self.streams:
            await self.slots.renew({(s.user_id, s.slot) for s in self.streams})

    async def _purge(self) -> None:
        await stream_queries.purge_events(self.db)

    async def check_sessions(self) -> None:
        """End streams whose token expired or was revoked, or whose user changed tier or
        was deactivated: the client reconnects and is checked afresh."""
        now = time.time()
        for stream in list(self.streams):
            if stream.expires_at <= now:
                self.end(stream)
        pairs = {(s.user_id, s.jti) for s in self.streams}
        if not pairs:
            return
        found = await stream_queries.sessions(self.db, pairs=pairs)
        for stream in list(self.streams):
            session = found.get((stream.user_id, stream.jti))
            if session is None:
                continue  # opened while the check ran: the next one covers it
            if session.revoked or not session.is_active or session.tier != stream.tier:
                self.end(stream)


async def _guarded(step: Callable[[], Awaitable[None]]) -> None:
    """Run one periodic step; a failure skips it until the next tick, never stops the loop
    (the session checks must go on)."""
    try:
        await step()
    except HUB_ERRORS as exc:
        log.warning("stream hub: %s skipped (%s)", step.__name__, type(exc).__name__)
    except Exception:
        log.exception("stream hub: %s failed", step.__name__)


async def start_hub(svc: Services) -> Hub:
    slots = StreamSlots(svc.redis, STREAMS_PER_USER)
    hub = Hub(svc.db, EventChannel(svc.redis), slots)
    await hub.start()
    return hub
