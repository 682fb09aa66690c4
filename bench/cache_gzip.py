"""The gzip level of cached bodies: size and CPU of one compression per level, on pages of
GET /api/signals/subscribed built from the seed generator's signals (20, 50 and 100
items). A cached body is compressed once per entry and its gzip form is sent on every hit
until the entry expires, so the choice weighs one compression against the bytes of every
hit (stored in Redis, read by the gate, sent to the client).

    uv run python -m bench.cache_gzip
"""

from __future__ import annotations

import gzip
import random
import statistics
import time
from datetime import UTC, datetime

import msgspec

from alpine_api.pagination import Page
from alpine_api.seed.rows import signal_maker
from alpine_api.signals.schemas import Signal
from bench.harness import machine

LEVELS = (1, 6, 9)
SIZES = (20, 50, 100)
REPEATS = 200


def page(items: int) -> bytes:
    """A page as the route encodes it, from seed-generated signal rows."""
    rows = signal_maker(datetime(2026, 11, 29, tzinfo=UTC), random.Random(items))(0, items)
    signals = [
        Signal(i + 1, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9])
        for i, r in enumerate(rows)
    ]
    return msgspec.json.encode(Page(signals, "MjAyNi0xMS0yOVQxMjowMDowMC4wMDAwMDBaLDEyMzQ1"))


def compress_us(body: bytes, level: int) -> float:
    """Median microseconds of one gzip.compress at `level`."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        gzip.compress(body, compresslevel=level)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    lines = [
        f"Machine: {machine()}\n",
        "| items | JSON bytes | " + " | ".join(f"level {lv} bytes, us" for lv in LEVELS) + " |",
        "|---:|---:|" + "---:|" * len(LEVELS),
    ]
    for items in SIZES:
        body = page(items)
        cells = [
            f"{len(gzip.compress(body, compresslevel=lv)):,}, {compress_us(body, lv):.0f}"
            for lv in LEVELS
        ]
        lines.append(f"| {items} | {len(body):,} | " + " | ".join(cells) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
