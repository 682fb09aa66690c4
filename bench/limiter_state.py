"""The limiter's memory per client and Valkey's time per decision, before and after.

Before: the sliding log (gate.lua of `--before`, by default the last commit that had it:
one sorted-set entry per request in the window). After: counts per sub-window in one
hash (src/alpine_api/redis/gate.lua).
Side by side in one run, for limits of 100, 1,000 and 10,000 per 60 s: one client sends
exactly its limit per window, evenly spread, for a full window and a little more, to
both scripts at once. Each (script, limit) pair has its own Valkey, so `usec_per_call` of
EVALSHA in INFO commandstats is that script's alone; then MEMORY USAGE of the client's
key. Writes a table and draws bench/limiter_state.png.

    uv run python -m bench.limiter_state [--seconds 62] [--before REV]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import redis.asyncio as aioredis

from alpine_api.embedded import EmbeddedValkey
from alpine_api.redis.lean import SCRIPTS_DIR
from bench.gate_overhead import REPO, SLIDING_LOG
from bench.harness import machine, write_results

matplotlib.use("Agg")
from matplotlib import pyplot as plt

BENCH_DIR = Path(__file__).resolve().parent
LIMITS = (100, 1_000, 10_000)
WINDOW_MS = 60_000
KEY = "{u:1}:rate"
TICK_SECONDS = 0.05


@dataclass
class Variant:
    name: str
    source: str

    def args(self, limit: int, nonce: str) -> list[str | int]:
        if self.name == "before":  # KEYS[1] window; ARGV limit, window, nonce, jti, z
            return [limit, WINDOW_MS, nonce, "", "b"]
        return [nonce, "", "b", limit, WINDOW_MS]  # ARGV nonce, jti, z, (limit, window)


@dataclass
class Row:
    variant: str
    limit: int
    calls: int
    admitted: int
    memory_bytes: int
    usec_per_call: float
    encoding: str


async def _drive(client: aioredis.Redis, variant: Variant, limit: int, seconds: float) -> Row:
    sha = await client.script_load(variant.source)
    await client.config_resetstat()
    started, sent, admitted = time.monotonic(), 0, 0
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(limit * elapsed * 1000 / WINDOW_MS) - sent
        for _ in range(due):
            reply = await client.evalsha(sha, 1, KEY, *variant.args(limit, f"n{sent}"))
            admitted += int(reply[0] if variant.name == "before" else reply[1])
            sent += 1
        await asyncio.sleep(TICK_SECONDS)
    stats = (await client.info("commandstats"))["cmdstat_evalsha"]
    memory = await client.memory_usage(KEY, samples=0)
    encoding = await client.object("encoding", KEY)
    return Row(
        variant.name,
        limit,
        sent,
        admitted,
        int(memory or 0),
        float(stats["usec_per_call"]),
        encoding.decode() if isinstance(encoding, bytes) else str(encoding),
    )


def _plot(rows: list[Row], path: Path) -> None:
    figure, (memory, cost) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.38
    for offset, variant in ((-width / 2, "before"), (width / 2, "after")):
        mine = [r for r in rows if r.variant == variant]
        places = [i + offset for i in range(len(mine))]
        label = "sliding log (before)" if variant == "before" else "sub-window hash (after)"
        memory.bar(places, [r.memory_bytes for r in mine], width, label=label)
        cost.bar(places, [r.usec_per_call for r in mine], width, label=label)
    for axis in (memory, cost):
        axis.set_xticks(range(len(LIMITS)), [f"{limit:,}/60 s" for limit in LIMITS])
        axis.set_xlabel("limit")
        axis.legend()
    memory.set_yscale("log")
    memory.set_ylabel("MEMORY USAGE of one client's key (bytes, log)")
    cost.set_ylabel("Valkey usec_per_call of the gate script")
    figure.suptitle("Limiter state after a full window of traffic at the limit")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _script_of(rev: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "show", f"{rev}:src/alpine_api/redis/gate.lua"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout


async def _run(seconds: float, before: str) -> list[Row]:
    variants = [
        Variant("before", _script_of(before)),
        Variant("after", (SCRIPTS_DIR / "gate.lua").read_text()),
    ]
    root = Path(tempfile.mkdtemp(prefix="alpine-limiter-"))
    servers: list[EmbeddedValkey] = []
    try:
        jobs = []
        for variant in variants:
            for limit in LIMITS:
                server = EmbeddedValkey(root / f"{variant.name}-{limit}")
                server.start()
                servers.append(server)
                client = aioredis.Redis.from_url(server.url)
                jobs.append(_drive(client, variant, limit, seconds))
        return list(await asyncio.gather(*jobs))
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=62.0)
    parser.add_argument("--before", default=SLIDING_LOG, help="commit to compare with")
    args = parser.parse_args()
    rows = asyncio.run(_run(args.seconds, args.before))
    lines = [
        "| limit | script | calls | admitted | MEMORY USAGE bytes | encoding | usec_per_call |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for limit in LIMITS:
        for r in (r for r in rows if r.limit == limit):
            lines.append(
                f"| {limit:,}/60 s | {r.variant} | {r.calls:,} | {r.admitted:,} | "
                f"{r.memory_bytes:,} | {r.encoding} | {r.usec_per_call:.2f} |"
            )
    ratios = []
    for limit in LIMITS:
        before, after = (
            next(r for r in rows if (r.variant, r.limit) == (v, limit)) for v in ("before", "after")
        )
        ratios.append(
            f"{limit:,}/60 s: memory {before.memory_bytes / after.memory_bytes:.0f}x smaller, "
            f"usec_per_call {after.usec_per_call / before.usec_per_call:.2f}x"
        )
    png = BENCH_DIR / "limiter_state.png"
    _plot(rows, png)
    markdown = (
        f"Machine: {machine()}\n\nCommand: `uv run python -m bench.limiter_state --seconds "
        f"{args.seconds:g} --before {args.before}`\n\n"
        + "\n".join(lines)
        + "\n\n"
        + "; ".join(ratios)
        + f"\n\nPlot: {png.name}\n"
    )
    print(markdown)
    write_results("limiter_state", {"machine": machine(), "rows": rows}, markdown)


if __name__ == "__main__":
    main()
