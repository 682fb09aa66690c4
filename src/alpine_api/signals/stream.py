"""GET /api/signals/stream: Server-Sent Events of the signals the caller's tier can see.

Each event is `id: <event id>`, `event: signal | signal.updated`, `data: <Signal JSON>`.
With `Last-Event-ID` the response first replays from PostgreSQL what the client missed
(the events in (Last-Event-ID, the hub's position]), then continues with the hub's live
events past both, so the seam has no gap and no duplicate. The response is Litestar's
ServerSentEvent (its encoding, headers and disconnect handling serve as they are); the
events come from the worker's hub (signals/hub.py).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, get
from litestar.exceptions import ClientException, ServiceUnavailableException
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS

from alpine_api.auth.current import UserRequest
from alpine_api.db import Database, DatabaseUnavailable
from alpine_api.http.config import NO_COMPRESSION
from alpine_api.redis.client import REDIS_ERRORS
from alpine_api.services import services
from alpine_api.signals import stream_queries
from alpine_api.signals.events import Event
from alpine_api.signals.hub import BATCH, STREAMS_PER_USER, Hub, OpenStream

log = logging.getLogger(__name__)

REPLAY_WINDOW = "24 hours"
_EVENT_ID = re.compile(r"^[0-9]{1,18}$")


def hub_of(request: Request[Any, Any, Any]) -> Hub:
    return request.app.state.stream_hub  # type: ignore[no-any-return]


def _bad_resume(detail: str) -> ClientException:
    return ClientException(detail=detail, extra={"header": "Last-Event-ID"})


async def resume_point(request: Request[Any, Any, Any], db: Database) -> int | None:
    """The Last-Event-ID to resume after, None without one; 400 when it is malformed,
    unknown, or older than the replay window (the client then reconnects without it and
    reloads GET /api/signals/subscribed)."""
    raw = request.headers.get("last-event-id")
    if raw is None or raw.strip() == "":
        return None
    if not _EVENT_ID.match(raw.strip()):
        raise _bad_resume("Last-Event-ID must be an event id (a non-negative integer)")
    after = int(raw.strip())
    last_id, oldest_id = await stream_queries.resume_bounds(db)
    if after > last_id:
        raise _bad_resume(f"Last-Event-ID {after} is not an event id of this service")
    first_kept = last_id + 1 if oldest_id is None else oldest_id
    if after < first_kept - 1:
        raise _bad_resume(
            f"Last-Event-ID {after} is older than the {REPLAY_WINDOW} replay window;"
            " reconnect without it and reload /api/signals/subscribed"
        )
    return after


# Sent first, so the client (and any proxy) has the response head at once rather than at
# the first event or keep-alive, up to 10 s later.
OPENED = ServerSentEventMessage(data=None, comment="open")


async def _events(
    hub: Hub, stream: OpenStream, resume_from: int | None
) -> AsyncIterator[ServerSentEventMessage]:
    try:
        yield OPENED
        upto = hub.add(stream, resume_from)
        after = upto if resume_from is None else resume_from
        while after < upto:
            stored = await stream_queries.events_after(
                hub.db, after=after, upto=upto, tier=stream.tier, limit=BATCH
            )
            if not stored:
                break
            for event in stored:
                yield Event.from_stored(event)
            after = stored[-1].id
        while (item := await stream.queue.get()) is not None:
            yield item
    except DatabaseUnavailable:
        # The replay could not be read: end the stream (headers are sent, no status can
        # say so); the client reconnects with the last id it received.
        log.warning("stream ended: the database is unavailable for its replay")
    finally:
        hub.remove(stream)


@get(
    "/stream",
    summary="Live signals (Server-Sent Events) visible to the caller's tier",
    opt={NO_COMPRESSION: True},
    responses={
        200: ResponseSpec(
            str,
            description="text/event-stream: `event: signal` / `signal.updated`, `id`, `data`",
            media_type="text/event-stream",
            generate_examples=False,
        ),
    },
)
async def stream_signals(request: UserRequest) -> ServerSentEvent:
    user, claims = request.user, request.auth.claims
    svc = services(request)
    hub = hub_of(request)
    if hub.closing:
        raise ServiceUnavailableException(detail="The server is shutting down; reconnect")
    resume_from = await resume_point(request, svc.db)
    slot = secrets.token_hex(8)
    try:
        taken = await hub.slots.take(user.id, slot)
    except REDIS_ERRORS as exc:  # the limit cannot be counted: let the stream open
        log.warning("stream slots unavailable (%s); not counted", type(exc).__name__)
        taken = True
    if not taken:
        raise ClientException(
            status_code=HTTP_429_TOO_MANY_REQUESTS,
            detail=f"At most {STREAMS_PER_USER} open streams per user",
            headers={"Retry-After": "5"},
        )
    # From here the hub owns the slot: the stream gives it back when its response ends.
    # A client gone before the response started leaves it to expire with its lease.
    stream = OpenStream(user.id, claims.jti, user.tier, float(claims.exp), slot)
    return ServerSentEvent(_events(hub, stream, resume_from), headers={"X-Accel-Buffering": "no"})
