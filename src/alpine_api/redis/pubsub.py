"""The live channel of signal events: publish, and one subscription per worker.

Plain PUBLISH / SUBSCRIBE on a single server; sharded SPUBLISH / SSUBSCRIBE on a cluster,
so a message goes only to the node that owns the channel's slot instead of every node.
Pub/sub delivers at most once and only to connected subscribers: it is the fast path.
Nothing is lost when it drops a message, because every event is in PostgreSQL first and
the subscriber (signals/hub.py) fills any hole from there.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub, RedisCluster

from alpine_api.redis.client import RedisServer
from alpine_api.redis.keys import SIGNAL_EVENTS_CHANNEL

POLL_SECONDS = 1.0
# A subscription that hears nothing (not even the answer to its PING) this long is dead.
IDLE_PING_SECONDS = 5.0
SILENCE_LIMIT_SECONDS = 12.0


class EventChannel:
    def __init__(self, redis: RedisServer, channel: str = SIGNAL_EVENTS_CHANNEL) -> None:
        self._client = redis.commands
        self._channel = channel
        self._sharded = redis.cluster

    async def publish(self, data: bytes) -> None:
        if isinstance(self._client, RedisCluster):
            await self._client.spublish(self._channel, data)
        else:
            await self._client.publish(self._channel, data)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[bytes | None]]:
        """A subscription whose iterator yields message payloads, None after a second
        without any, and raises a Redis error when the connection fails (the caller
        subscribes again)."""
        pubsub: Any = self._client.pubsub()
        try:
            if self._sharded:
                await pubsub.ssubscribe(self._channel)
            else:
                await pubsub.subscribe(self._channel)
            yield self._messages(pubsub)
        finally:
            await pubsub.aclose()

    async def _next(self, pubsub: PubSub | ClusterPubSub) -> dict[str, Any] | None:
        message: dict[str, Any] | None
        if isinstance(pubsub, ClusterPubSub):
            message = await pubsub.get_sharded_message(
                ignore_subscribe_messages=True, timeout=POLL_SECONDS
            )
        else:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_SECONDS)
        return message

    async def _messages(self, pubsub: PubSub | ClusterPubSub) -> AsyncIterator[bytes | None]:
        heard = pinged = time.monotonic()
        while True:
            message = await self._next(pubsub)
            now = time.monotonic()
            if message is not None:
                heard = now
                if message["type"] in ("message", "smessage"):
                    yield message["data"]
                continue
            yield None
            # A single server's subscription is pinged when idle: a connection that went
            # away without closing (no FIN) then fails here instead of staying silent. A
            # cluster's sharded connections are redis-py's own; the hub's PostgreSQL check
            # bounds the delay there either way.
            if isinstance(pubsub, ClusterPubSub):
                continue
            if now - heard > SILENCE_LIMIT_SECONDS:
                raise TimeoutError("the event subscription went silent")
            if now - heard > IDLE_PING_SECONDS and now - pinged > IDLE_PING_SECONDS:
                pinged = now
                await pubsub.ping()
