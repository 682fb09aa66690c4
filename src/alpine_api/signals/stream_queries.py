"""The signal stream's event log (sql/stream/), as typed functions.

Events are appended inside the signal's own transaction (`append_event`, called by
`events.signal_write`), replayed in id order (`events_after`), and dropped once they are
older than the replay window (`purge_events`). `sessions` is the hub's twice-a-second
check of every open stream's user and token.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from alpine_api.db import Executor


class StoredEvent(NamedTuple):
    id: int
    kind: str
    tier: str
    payload: str  # the Signal's JSON


class ResumeBounds(NamedTuple):
    last_id: int  # the last event id ever given
    oldest_id: int | None  # the oldest id of the last 24 hours; None when there is none


class Session(NamedTuple):
    """A stream's user and token as PostgreSQL has them now."""

    tier: str | None  # None: no such user
    is_active: bool
    revoked: bool


async def append_event(tx: Executor, *, kind: str, signal_id: int, tier: str, payload: str) -> int:
    """Record the signal's change as the next event (in the caller's transaction); its id."""
    event_id: int = await tx.fetchval("stream.append_event", kind, signal_id, tier, payload)
    return event_id


async def events_after(
    db: Executor, *, after: int, upto: int, tier: str, limit: int
) -> list[StoredEvent]:
    """The events in (after, upto] that `tier` may see, oldest first, at most `limit`."""
    rows = await db.fetch("stream.events_after", after, upto, tier, limit)
    return [StoredEvent(row["id"], row["kind"], row["tier"], row["payload"]) for row in rows]


async def last_event_id(db: Executor) -> int:
    last_id: int = await db.fetchval("stream.last_event_id")
    return last_id


async def resume_bounds(db: Executor) -> ResumeBounds:
    row = await db.fetchrow("stream.resume_bounds")
    assert row is not None  # the counter has exactly one row
    return ResumeBounds(row["last_id"], row["oldest_id"])


async def purge_events(db: Executor) -> None:
    await db.execute("stream.purge_events")


async def sessions(
    db: Executor, *, pairs: Collection[tuple[int, str]]
) -> dict[tuple[int, str], Session]:
    """The current state of each (user id, token id) asked, keyed by that pair."""
    users = [user_id for user_id, _ in pairs]
    jtis = [jti for _, jti in pairs]
    rows = await db.fetch("stream.check_sessions", users, jtis)
    return {
        (row["user_id"], str(row["jti"])): Session(row["tier"], row["is_active"], row["revoked"])
        for row in rows
    }
