"""The per-request Redis round trip: rate-limit decision plus the auth lookups."""

from __future__ import annotations

import itertools
import os
import secrets
from typing import NamedTuple

from alpine_api.redis import keys
from alpine_api.redis.client import ScriptClient, load_script


class GateResult(NamedTuple):
    allowed: bool
    remaining: int
    reset_ms: int
    revoked: int  # -1 unknown (ask PostgreSQL), 0 not revoked, 1 revoked
    record: bytes | None  # the user's cached record, when asked for and present
    generation: bytes  # the user's generation when the record was read
    cached: bytes | None  # the cached response asked for, if current
    cached_gzip: bool  # `cached` is gzip-compressed


class Gate:
    def __init__(self, client: ScriptClient) -> None:
        self._script = load_script(client, "gate")
        # Unique per request across workers and instances: members of the window set.
        self._prefix = f"{os.getpid()}.{secrets.token_hex(4)}."
        self._counter = itertools.count()

    async def check(
        self,
        window_key: str,
        limit: int,
        window_ms: int,
        *,
        user_id: int | None = None,
        jti: str = "",
        cached: tuple[str, str] | None = None,
        gzip: bool = False,
    ) -> GateResult:
        """One EVALSHA. `limit` 0 skips limiting; `user_id` adds the auth lookups;
        `cached` (a namespace's generation key and an entry key, in the user's slot on a
        cluster) adds a cached-response lookup. Raises when Redis does not answer."""
        nonce = f"{self._prefix}{next(self._counter)}"
        if user_id is None:
            script_keys = [window_key]
        else:
            script_keys = [
                window_key,
                keys.revoked(user_id),
                keys.user_record(user_id),
                keys.generation(keys.user_tag(user_id)),
            ]
            if cached is not None:
                script_keys += cached
        reply = await self._script(
            keys=script_keys, args=[limit, window_ms, nonce, jti, "z" if gzip else "b"]
        )
        allowed, remaining, reset_ms, revoked, record, generation, body, body_gzip = reply
        return GateResult(
            bool(allowed),
            int(remaining),
            int(reset_ms),
            int(revoked),
            record or None,
            generation,
            body or None,
            bool(body_gzip),
        )
