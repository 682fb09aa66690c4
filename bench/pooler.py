"""Direct to PostgreSQL against through PgBouncer in transaction mode, side by side.

One seeded stack (embedded PostgreSQL + Valkey, `--small` data of bench/load.py by
default) and one PgBouncer (Debian's, transaction mode, a server pool of `--pool`) in
front of it. Four `serve --workers 2`: direct and pooled (ALPINE_DATABASE_POOLER=
transaction), each with the response cache off (uncached reads) and on (the mix of
bench/load.py). Scenarios: the subscribed-signals read uncached at -c32 and at -c1 (the
latency of one request on its own), and the mix at -c32. Rounds interleave direct and
pooled; medians reported, with the pooled/direct ratio and the most PostgreSQL backends
each path held during each scenario (both direct servers, or PgBouncer's server pool).

    flock /tmp/alpine-bench.lock uv run python -m bench.pooler [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg

from alpine_api.embedded_pgbouncer import EmbeddedPgBouncer
from alpine_api.tokens import TokenService
from bench.harness import (
    JWT_SECRET,
    NO_LIMITS,
    WrkResult,
    machine,
    median_of,
    server,
    stack,
    write_results,
    wrk,
)
from bench.load import MIX_USERS, SIZES, WRK_DIR, seed, tokens_for

SUBSCRIBED = "/api/signals/subscribed?min_confidence=0.85"


class PeakBackends:
    """The most backends of one path (its `application_name`) seen while it runs,
    sampled every 50 ms."""

    def __init__(self, admin_url: str, application: str) -> None:
        self.admin_url = admin_url
        self.application = application
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    (self.application,),
                ).fetchone()
                self.peak = max(self.peak, int(row[0]) if row else 0)
                time.sleep(0.05)

    def __enter__(self) -> PeakBackends:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def side_by_side(results: dict[str, WrkResult], peaks: dict[str, int]) -> str:
    lines = [
        "| scenario | direct req/s | pooled req/s | pooled/direct | direct p50 / p99 ms"
        " | pooled p50 / p99 ms | errors | peak backends direct / pooled |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(key.split(": ", 1)[1] for key in results):
        d, p = results[f"direct: {name}"], results[f"pooled: {name}"]
        ratio = p.requests_per_second / d.requests_per_second
        cells = [
            name,
            f"{d.requests_per_second:,.0f}",
            f"{p.requests_per_second:,.0f}",
            f"{ratio:.2f}",
            f"{d.p50_ms:.2f} / {d.p99_ms:.2f}",
            f"{p.p50_ms:.2f} / {p.p99_ms:.2f}",
            str(d.errors + p.errors),
            f"{peaks[f'direct: {name}']} / {peaks[f'pooled: {name}']}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pooler")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool", type=int, default=10, help="PgBouncer's server pool")
    parser.add_argument("--data-dir", type=Path, default=Path("/var/tmp/alpine-bench-pooler"))
    args = parser.parse_args()
    users, signals, notifications = SIZES["small"]

    with stack(args.data_dir) as st, ExitStack() as running:
        seed(st, users, signals, notifications)
        who, tokens_file = tokens_for(st, MIX_USERS)
        with psycopg.connect(st.database_url) as conn:
            max_signal = conn.execute("SELECT max(id) FROM signals").fetchone()[0]  # type: ignore[index]
        pro = {"Authorization": f"Bearer {TokenService(JWT_SECRET, 86400).issue(who['pro'])[0]}"}
        bouncer = EmbeddedPgBouncer.in_front_of(st.database_url, st.root / "pgbouncer", args.pool)
        bouncer.start()
        running.callback(bouncer.stop)
        env = dict(NO_LIMITS)
        # Each path names its connections, so PostgreSQL's backends can be told apart
        # (PgBouncer passes application_name on to the server connection).
        direct = {"ALPINE_DATABASE_URL": f"{st.database_url}?application_name=bench-direct"}
        pooled = {
            "ALPINE_DATABASE_URL": f"{bouncer.url('alpine')}?application_name=bench-pooled",
            "ALPINE_DATABASE_POOLER": "transaction",
        }
        uncached = {"ALPINE_CACHE_ENABLED": "false"}
        urls = {
            "direct": running.enter_context(server(st, 2, **env, **uncached, **direct)),
            "pooled": running.enter_context(server(st, 2, **env, **uncached, **pooled)),
            "direct mix": running.enter_context(server(st, 2, **env, **direct)),
            "pooled mix": running.enter_context(server(st, 2, **env, **pooled)),
        }
        mix = [str(tokens_file), str(max_signal)]
        scenarios = [
            ("subscribed, uncached", "", SUBSCRIBED, pro, 32, None),
            ("subscribed, uncached, 1 connection", "", SUBSCRIBED, pro, 1, None),
            ("mix (10k users, 5% writes)", " mix", "", {}, 32, "mix.lua"),
        ]
        runs: dict[str, list[WrkResult]] = {}
        peaks: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, suffix, path, headers, connections, script in scenarios:
                for mode in ("direct", "pooled"):
                    key = f"{mode}: {name}"
                    with PeakBackends(st.postgres.dsn(), f"bench-{mode}") as backends:
                        result = wrk(
                            key,
                            urls[mode + suffix] + path,
                            headers=headers,
                            connections=connections,
                            seconds=args.seconds,
                            script=WRK_DIR / script if script else None,
                            script_args=mix if script else None,
                        )
                    runs.setdefault(key, []).append(result)
                    peaks[key] = max(peaks.get(key, 0), backends.peak)
    results = {key: median_of(r) for key, r in runs.items()}
    markdown = (
        f"Machine: {machine()}\n\n"
        f"Command: `flock /tmp/alpine-bench.lock uv run python -m bench.pooler --seconds "
        f"{args.seconds} --rounds {args.rounds} --pool {args.pool}` (wrk -t1, serve --workers 2,"
        f" ALPINE_DB_POOL_MAX 20 per worker; PgBouncer 1.18 transaction mode, server pool"
        f" {args.pool}; medians of {args.rounds} interleaved rounds)\n\n"
        f"Data: {users:,} users, {signals:,} signals, {notifications:,} notifications\n\n"
        f"{side_by_side(results, peaks)}\n"
    )
    print(markdown)
    write_results("pooler", {"machine": machine(), "results": results, "peaks": peaks}, markdown)


if __name__ == "__main__":
    main()
