"""The cached request path before and after the response cache had one owner, side by
side in one run.

"before" is the code of `--before` (default: the last commit whose miss read the entry
again in the handler, three Redis round trips, and whose computed bodies Litestar
compressed a second time), extracted with `git archive`; "after" is this checkout. Each
server has a fresh Valkey of its own; rate limits are out of reach (every request is
still a full decision). Scenarios, all on `serve --workers 2`, wrk -t1 -c32, gzip
accepted, interleaved and repeated; medians reported:
- profile HIT: GET /api/users/profile, answered by the gate from the cached entry;
- signals MISS: GET /api/signals/subscribed (a page of 50 of 60 signals) with a query
  string no other request sends (bench/wrk/distinct.lua), so every request computes.
Redis top-level commands per hit and per miss are counted with MONITOR on both.

    uv run python -m bench.cache_path [--seconds 5] [--rounds 3] [--before REV]
"""

from __future__ import annotations

from pathlib import Path

from bench import harness
from bench.gate_overhead import (
    before_after_args,
    before_and_after,
    bench_user,
    miss_round_trips,
    round_trips,
)
from bench.harness import WrkResult, admin_connection, median_of, stack, wrk

# The last commit whose cache miss read the entry again in the handler.
READ_TWICE = "c0d2378"
DISTINCT = Path(__file__).resolve().parent / "wrk" / "distinct.lua"
VARIANTS = ("before", "after")


def measure(
    servers: dict[str, str], headers: dict[str, str], seconds: int, rounds: int
) -> dict[str, list[WrkResult]]:
    runs: dict[str, list[WrkResult]] = {}
    for n in range(rounds):
        for variant in VARIANTS:
            name = f"profile HIT ({variant})"
            url = f"{servers[variant]}/api/users/profile"
            runs.setdefault(name, []).append(wrk(name, url, headers=headers, seconds=seconds))
        for i, variant in enumerate(VARIANTS):
            name = f"signals MISS ({variant})"
            url = f"{servers[variant]}/api/signals/subscribed"
            prefix = f"{10 * n + i + 10:02d}"  # no two runs share a query string
            result = wrk(
                name, url, headers=headers, seconds=seconds, script=DISTINCT, script_args=[prefix]
            )
            runs.setdefault(name, []).append(result)
    return runs


def main() -> None:
    args = before_after_args(READ_TWICE)

    with stack() as st:
        headers = {**bench_user(st), "Accept-Encoding": "gzip"}
        with admin_connection(st) as conn:
            conn.execute(
                "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
                " confidence, tier) SELECT 'BTC/USD', 'long', 60000 + i, 66000 + i, 57000 + i,"
                " 0.9, 'starter' FROM generate_series(1, 60) AS i"
            )
        with before_and_after(st, args.before, **harness.NO_LIMITS) as (servers, valkeys):
            trips = {
                v: (
                    round_trips(valkeys[v], servers[v], headers),
                    miss_round_trips(valkeys[v], servers[v], headers),
                )
                for v in VARIANTS
            }
            runs = measure(servers, headers, args.seconds, args.rounds)
    results = [median_of(r) for r in runs.values()]
    hit_before, hit_after, miss_before, miss_after = results
    summary = "\n".join(
        [
            "Redis top-level commands (MONITOR, 200 requests each): "
            + "; ".join(f"{v}: hit {trips[v][0]:.2f}, miss {trips[v][1]:.2f}" for v in VARIANTS),
            f"profile HIT after/before: {hit_after.requests_per_second / hit_before.requests_per_second:.2f}"
            f" (p50 {hit_before.p50_ms:.2f} -> {hit_after.p50_ms:.2f} ms)",
            f"signals MISS after/before: {miss_after.requests_per_second / miss_before.requests_per_second:.2f}"
            f" (p50 {miss_before.p50_ms:.2f} -> {miss_after.p50_ms:.2f} ms)",
        ]
    )
    markdown = (
        f"Machine: {harness.machine()}\n\nCommand: `uv run python -m bench.cache_path "
        f"--seconds {args.seconds} --rounds {args.rounds} --before {args.before}` (medians of "
        f"{args.rounds} interleaved rounds, wrk -t1 -c32, serve --workers 2)\n\n"
        f"{harness.table(results, hit_before)}\n\n{summary}\n"
    )
    print(markdown)
    harness.write_results(
        "cache_path", {"machine": harness.machine(), "results": results, "trips": trips}, markdown
    )


if __name__ == "__main__":
    main()
