"""What the request observer costs: request id, duration histogram, JSON access line.

Two Granian servers (2 workers, uvloop, multiprocess metrics, JSON logs to a file) that
differ only in the observer: `alpine_api.asgi:app` and `bench.observer_off:app`.
wrk -t1 -c32 on GET /health/live (no database, no Redis: the observer's share is
largest there), interleaved and repeated; medians reported. Then the observer's own CPU
per request, in-process around a trivial ASGI app (steady even on a busy machine).

    uv run python -m bench.http_overhead [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from alpine_api.embedded import free_port
from alpine_api.http.middleware import RequestObserver
from alpine_api.logging import configure_logging
from bench.harness import (
    Stack,
    WrkResult,
    answers,
    machine,
    median_of,
    stack,
    table,
    write_results,
    wrk,
)


@contextmanager
def granian(st: Stack, target: str, workers: int = 2) -> Iterator[str]:
    port = free_port()
    env = st.env(PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp(prefix="alpine-metrics-"))
    log = open(st.root / f"{target.replace(':', '-')}-{port}.log", "wb")  # noqa: SIM115
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--loop", "uvloop"]
    command += ["--workers", str(workers), "--port", str(port), target]
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        if not answers(f"{url}/health/live", proc):
            raise RuntimeError(f"{target} did not start")
        time.sleep(1.0)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


async def _per_request_us(app: ASGIApp, batches: int = 20, size: int = 2000) -> float:
    """Best batch average of one call of `app` on a minimal GET (CPU time, in-process)."""

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    best = float("inf")
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(size):
            scope = {
                "type": "http",
                "method": "GET",
                "path": "/health/live",
                "headers": [(b"host", b"bench"), (b"accept", b"*/*")],
                "state": {},
            }
            await app(scope, receive, send)  # type: ignore[arg-type]
        best = min(best, (time.perf_counter() - started) / size)
    return best * 1e6


async def _trivial(scope: Scope, receive: Receive, send: Send) -> None:
    scope["path_template"] = "/health/live"
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}', "more_body": False})


def observer_cost_us() -> tuple[float, float]:
    """(bare, observed) microseconds per request; the access lines go to /dev/null."""
    configure_logging("json")
    stdout, sys.stdout = sys.stdout, open(os.devnull, "w")  # noqa: SIM115
    try:
        bare = asyncio.run(_per_request_us(_trivial))
        observed = asyncio.run(_per_request_us(RequestObserver(_trivial)))
    finally:
        sys.stdout.close()
        sys.stdout = stdout
    return bare, observed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bare_us, observed_us = observer_cost_us()
    with (
        stack() as st,
        granian(st, "alpine_api.asgi:app") as on,
        granian(st, "bench.observer_off:app") as off,
    ):
        runs: dict[str, list[WrkResult]] = {"observer off": [], "observer on": []}
        for _ in range(args.rounds):
            for name, url in (("observer off", off), ("observer on", on)):
                runs[name].append(wrk(name, f"{url}/health/live", seconds=args.seconds))
    rows = [median_of(r) for r in runs.values()]
    ratio = rows[1].requests_per_second / rows[0].requests_per_second
    markdown = (
        f"## Request observer overhead\n\n{machine()}\n\n"
        f"`uv run python -m bench.http_overhead --seconds {args.seconds} --rounds {args.rounds}`"
        f" (wrk -t1 -c32, GET /health/live, 2 workers; medians of {args.rounds})\n\n"
        f"{table(rows, rows[0])}\n\n"
        f"Throughput with the observer / without: {ratio:.2f}.\n"
        f"In-process, one request through the observer costs {observed_us - bare_us:.1f} us"
        f" of CPU (request id, histogram, JSON access line; best of 20 batches of 2000).\n"
    )
    print(markdown)
    payload = {"runs": runs, "median": rows, "ratio": ratio, "observer_us": observed_us - bare_us}
    write_results("http_overhead", payload, markdown)


if __name__ == "__main__":
    main()
