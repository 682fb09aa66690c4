"""An event-stream reader for the tests: httpx streaming plus the SSE line format."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class SseEvent:
    id: int
    event: str
    data: dict[str, Any]


class Stream:
    """`async with Stream(client, headers) as s:` GET /api/signals/stream, read in the
    background; `await s.take(n)` returns the next n events, `await s.ended()` waits for
    the server to close the response."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers
        self.events: asyncio.Queue[SseEvent | None] = asyncio.Queue()
        self.comments = 0
        self.commented = asyncio.Event()  # set at the first comment line
        self.response: httpx.Response | None = None
        self._stack = contextlib.AsyncExitStack()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stream:
        self.response = await self._stack.enter_async_context(
            self.client.stream("GET", "/api/signals/stream", headers=self.headers)
        )
        assert self.response.status_code == 200, await self.response.aread()
        assert self.response.headers["content-type"].startswith("text/event-stream")
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await self._task
        with contextlib.suppress(httpx.HTTPError):
            await self._stack.aclose()

    async def _read(self) -> None:
        assert self.response is not None
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments += 1
                    self.commented.set()
                elif line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif fields:
                    event = SseEvent(int(fields["id"]), fields["event"], json.loads(fields["data"]))
                    self.events.put_nowait(event)
                    fields = {}
        except httpx.HTTPError:
            pass
        self.events.put_nowait(None)

    async def take(self, count: int, within: float = 10.0) -> list[SseEvent]:
        taken: list[SseEvent] = []
        async with asyncio.timeout(within):
            while len(taken) < count:
                event = await self.events.get()
                assert event is not None, f"stream ended after {taken}"
                taken.append(event)
        return taken

    async def ended(self, within: float) -> bool:
        """True when the server ends the stream within `within` s (no event before it)."""
        try:
            async with asyncio.timeout(within):
                return await self.events.get() is None
        except TimeoutError:
            return False

    def pending(self) -> int:
        return self.events.qsize()
