"""The signal stream under 1,000 concurrent clients on `serve --workers 2`.

    flock /tmp/alpine-bench.lock uv run python -m bench.stream [--streams 1000] [--events 20]

Opens `--streams` event streams (200 users, 5 streams each, the per-user maximum), then
publishes `--events` signals one at a time through POST /api/signals, and records when
each event reaches each client. Reported:
- latency from the POST's response to the event at every client (p50, p99, max), and
  from the POST's request for reference; every client must get every event exactly once
  (missed and duplicated are counted);
- server RSS (both workers) before and after the streams open, per open stream;
- CPU time of both workers over 60 s with no stream, then over 60 s with every stream
  open and idle (keep-alive comments, session checks, slot lease renewals);
- a latency-distribution PNG (bench/plots/stream-latency.png, shown in BENCHMARKS.md).

The clients run in this process on the same two cores as the server. They speak HTTP/1.1
over asyncio streams directly: an HTTP client library's per-connection machinery, times a
thousand, would measure the client more than the server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvloop

from alpine_api.tokens import TokenService
from bench.harness import (
    JWT_SECRET,
    NO_LIMITS,
    Stack,
    admin_connection,
    machine,
    rss_mb,
    server,
    stack,
    worker_pids,
    write_results,
)

USERS_PER_STREAM_LIMIT = 5
IDLE_SECONDS = 60
PLOTS_DIR = Path(__file__).resolve().parent / "plots"


@dataclass
class Client:
    user_id: int
    token: str
    arrivals: dict[int, list[float]] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.StreamWriter | None = None

    async def run(self, host: str, port: int) -> None:
        reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(
            f"GET /api/signals/stream HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        while (await reader.readline()) not in (b"\r\n", b""):
            pass  # headers; the body is chunked
        self.ready.set()
        buffer = b""
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            if size == 0:
                return
            chunk = await reader.readexactly(size + 2)
            now = time.perf_counter()
            buffer += chunk[:-2]
            *messages, buffer = buffer.split(b"\r\n\r\n")
            for message in messages:
                if message.startswith(b"id: "):
                    event_id = int(message[4 : message.index(b"\r\n")])
                    self.arrivals.setdefault(event_id, []).append(now)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes, in seconds."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / 100


def make_users(st: Stack, count: int) -> tuple[list[int], int]:
    """`count` users of every tier, and one admin; returns (user ids, admin id)."""
    with admin_connection(st) as conn:
        rows = conn.execute(
            "INSERT INTO users (email, password_hash, tier)"
            " SELECT 'stream' || g || '@bench.example', 'x',"
            " (ARRAY['starter', 'pro', 'elite'])[1 + g %% 3]::tier"
            " FROM generate_series(1, %s) AS g RETURNING id",
            (count,),
        ).fetchall()
        admin = conn.execute(
            "INSERT INTO users (email, password_hash, tier, is_admin)"
            " VALUES ('admin@bench.example', 'x', 'elite', true) RETURNING id"
        ).fetchone()
    assert admin is not None
    return [row[0] for row in rows], admin[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def open_streams(url: str, clients: list[Client]) -> list[asyncio.Task[None]]:
    host, port = url.removeprefix("http://").split(":")
    tasks = []
    for start in range(0, len(clients), 50):  # in steps, as clients arrive in practice
        batch = clients[start : start + 50]
        started = [asyncio.create_task(c.run(host, int(port))) for c in batch]
        tasks += started
        ready = [asyncio.create_task(c.ready.wait()) for c in batch]
        await asyncio.wait(ready, timeout=60)
        failed = [t.exception() for t in started if t.done() and t.exception()]
        if failed or not all(r.done() for r in ready):
            raise RuntimeError(f"streams did not open: {failed[:3]!r}")
    return tasks


async def publish_all(url: str, admin_token: str, events: int) -> list[tuple[float, float]]:
    """(request sent, response received) per published signal, in publish order."""
    times = []
    headers = {"Authorization": f"Bearer {admin_token}"}
    body = {
        "symbol": "BENCH",
        "direction": "long",
        "entry_price": 100.0,
        "target_price": 110.0,
        "stop_loss": 95.0,
        "confidence": 0.8,
        "tier": "starter",
    }
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for _ in range(events):
            sent = time.perf_counter()
            response = await http.post("/api/signals", json=body, headers=headers)
            received = time.perf_counter()
            response.raise_for_status()
            times.append((sent, received))
            await asyncio.sleep(0.5)
    return times


def draw(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    series = (
        ("from the POST's response", result["from_response_ms"], "#3b6ea5"),
        ("from the POST's request", result["from_request_ms"], "#d08c2f"),
    )
    for label, values, color in series:
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        ax.hist(
            values,
            bins=80,
            alpha=0.6,
            color=color,
            label=f"{label}: p50 {p50:.0f} ms, p99 {p99:.0f} ms",
        )
    ax.set_xlabel("time until the event reached the client (ms)")
    ax.set_ylabel("deliveries")
    ax.set_title(
        f"{result['streams']:,} streams on 2 workers, {result['events']} signals,"
        f" {result['deliveries']:,} deliveries"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


async def measure(url: str, users: list[int], admin_id: int, args: argparse.Namespace) -> dict:
    tokens = TokenService(JWT_SECRET, 7200)
    pids = worker_pids(url)
    rss_before = sum(rss_mb(pid) for pid in pids)
    cpu_start = cpu_seconds(pids)
    await asyncio.sleep(args.idle)
    cpu_no_streams = cpu_seconds(pids) - cpu_start
    clients = [
        Client(uid, tokens.issue(uid)[0]) for uid in users for _ in range(USERS_PER_STREAM_LIMIT)
    ][: args.streams]
    opened = time.perf_counter()
    tasks = await open_streams(url, clients)
    open_seconds = time.perf_counter() - opened
    await asyncio.sleep(2)
    rss_after = sum(rss_mb(pid) for pid in pids)
    cpu_start = cpu_seconds(pids)
    await asyncio.sleep(args.idle)
    cpu_idle_streams = cpu_seconds(pids) - cpu_start
    times = await publish_all(url, tokens.issue(admin_id)[0], args.events)
    await asyncio.sleep(3)  # stragglers
    for client in clients:
        client.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    ids = sorted({i for c in clients for i in c.arrivals})
    from_response, from_request = [], []
    missed = duplicated = 0
    for client in clients:
        for index, (sent, received) in enumerate(times):
            got = client.arrivals.get(ids[0] + index, []) if ids else []
            if not got:
                missed += 1
                continue
            duplicated += len(got) - 1
            from_response.append((got[0] - received) * 1000)
            from_request.append((got[0] - sent) * 1000)
    return {
        "streams": len(clients),
        "events": args.events,
        "open_seconds": open_seconds,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "rss_per_stream_kb": (rss_after - rss_before) * 1024 / len(clients),
        "cpu_seconds_no_streams": cpu_no_streams,
        "cpu_seconds_idle_streams": cpu_idle_streams,
        "idle_seconds": args.idle,
        "deliveries": len(from_response),
        "missed": missed,
        "duplicated": duplicated,
        "from_response_ms": from_response,
        "from_request_ms": from_request,
        "event_ids": ids,
    }


def report(result: dict, png: Path) -> str:
    lat, req = result["from_response_ms"], result["from_request_ms"]
    idle = result["idle_seconds"]
    rows = [
        ("streams open", f"{result['streams']:,} (opened in {result['open_seconds']:.1f} s)"),
        ("events published", f"{result['events']}, {result['deliveries']:,} deliveries"),
        ("missed / duplicated", f"{result['missed']} / {result['duplicated']}"),
        (
            "POST response -> event: p50 / p99 / max",
            f"{statistics.median(lat):.0f} / {percentile(lat, 0.99):.0f} / {max(lat):.0f} ms",
        ),
        (
            "POST request -> event: p50 / p99",
            f"{statistics.median(req):.0f} / {percentile(req, 0.99):.0f} ms",
        ),
        (
            "server RSS (2 workers): before / with streams",
            f"{result['rss_before_mb']:.0f} / {result['rss_after_mb']:.0f} MB"
            f" = {result['rss_per_stream_kb']:.1f} KB per stream",
        ),
        (
            f"worker CPU over {idle} s: no stream / {result['streams']:,} idle streams",
            f"{result['cpu_seconds_no_streams']:.2f} / {result['cpu_seconds_idle_streams']:.2f} s"
            f" ({result['cpu_seconds_idle_streams'] / idle * 100:.1f}% of one core)",
        ),
    ]
    lines = ["| measure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    return "\n".join(
        [f"Machine: {machine()}", "", *lines, "", f"![latency](bench/plots/{png.name})"]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--idle", type=int, default=IDLE_SECONDS)
    args = parser.parse_args()
    users_needed = -(-args.streams // USERS_PER_STREAM_LIMIT)
    with stack() as st:
        users, admin_id = make_users(st, users_needed)
        with server(st, workers=2, **NO_LIMITS) as url:
            result = uvloop.run(measure(url, users, admin_id, args))
    png = PLOTS_DIR / "stream-latency.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    draw(result, png)
    markdown = report(result, png)
    print(markdown)
    print(write_results("stream", result, markdown))


if __name__ == "__main__":
    main()
