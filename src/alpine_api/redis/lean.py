"""A lean EVALSHA client for the per-request scripts (single Redis / Valkey server).

Every /api request runs one script in the request gate (which also answers cache hits);
cached reads that miss run one more.
Through redis-py each call costs about 30 us of client CPU (connection pool, retry and
observability layers): as much as the rest of a small request. This client keeps ONE
connection per worker and pipelines: commands issued in one event-loop iteration go out
in one write, and replies come back in order (Redis answers a connection's commands in
order), parsed by hiredis.

Failure handling stays the callers': a call that waits longer than `timeout` fails
with TimeoutError on its own (its late reply, when it comes, is matched to it and
dropped, so the connection stays usable for the calls behind it); a connection that
answers nothing through several timeouts in a row, or that breaks, is closed, every call
waiting on it fails with ConnectionError, and the next call reconnects. A NOSCRIPT
answer (Redis restarted or flushed its scripts) loads the script and retries once.
Cluster mode does not use this client (see client.py, RedisServer).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis
from redis.exceptions import ResponseError

SCRIPTS_DIR = Path(__file__).resolve().parent

Arg = str | int | bytes
SILENT_TIMEOUTS_BEFORE_RECONNECT = 3


def _encode(*parts: Arg) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        if isinstance(part, str):
            part = part.encode()
        elif isinstance(part, int):
            part = b"%d" % part
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.lost: Exception | None = None
        self._outgoing: list[bytes] = []
        self._silent_timeouts = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, command: bytes, future: asyncio.Future[Any]) -> None:
        """Queue a command; commands queued in one loop iteration go out in one write."""
        self.waiting.append(future)
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(command)

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if self.transport is not None and self.lost is None:
            self.transport.write(b"".join(outgoing))

    def data_received(self, data: bytes) -> None:
        self._silent_timeouts = 0
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future = self.waiting.popleft()
            if not future.done():
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = ConnectionError(f"redis connection lost: {exc or 'closed'}")
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(self.lost)

    def expire(self, future: asyncio.Future[Any]) -> None:
        """A reply took too long: fail its caller; give up on a connection gone silent."""
        if not future.done():
            future.set_exception(TimeoutError("redis did not answer in time"))
            self._silent_timeouts += 1
            if self._silent_timeouts >= SILENT_TIMEOUTS_BEFORE_RECONNECT:
                self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()  # connection_lost fails whoever still waits


class Script:
    """One .lua file: its SHA1 and the source to load when Redis lacks it."""

    def __init__(self, name: str) -> None:
        self.source = (SCRIPTS_DIR / f"{name}.lua").read_bytes()
        self.sha = hashlib.sha1(self.source, usedforsecurity=False).hexdigest().encode()


class LeanClient:
    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.password = unquote(parts.password) if parts.password else None
        self.username = unquote(parts.username) if parts.username else None
        self.db = int(parts.path.lstrip("/") or 0)
        self.ssl = parts.scheme == "rediss"
        self.timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def _connection(self) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and protocol.lost is None:
            return protocol
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None and self._protocol.lost is None:
                return self._protocol
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(self.timeout):
                _, protocol = await loop.create_connection(
                    _Protocol, self.host, self.port, ssl=self.ssl or None
                )
            self._protocol = protocol
            if self.password is not None:
                auth = [self.username, self.password] if self.username else [self.password]
                await self._call(protocol, _encode("AUTH", *auth))
            if self.db:
                await self._call(protocol, _encode("SELECT", self.db))
            return protocol

    async def _call(self, protocol: _Protocol, command: bytes) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        protocol.send(command, future)
        timer = loop.call_later(self.timeout, protocol.expire, future)
        try:
            reply = await future
        finally:
            timer.cancel()
        if isinstance(reply, hiredis.ReplyError):
            raise ResponseError(str(reply))
        return reply

    async def evalsha(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run `script`; raises ConnectionError / TimeoutError when Redis does not answer."""
        protocol = await self._connection()
        command = _encode(b"EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return await self._call(protocol, command)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        await self._call(protocol, _encode(b"SCRIPT", b"LOAD", script.source))
        return await self._call(protocol, command)

    async def ping(self) -> None:
        """One PING on the connection the scripts use; raises as `evalsha` does."""
        await self._call(await self._connection(), _encode(b"PING"))

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None


class BoundScript:
    """`await script(keys=[...], args=[...])`, like a redis-py registered script."""

    def __init__(self, client: LeanClient, name: str) -> None:
        self.client = client
        self.script = Script(name)

    async def __call__(self, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        return await self.client.evalsha(self.script, keys, args)
