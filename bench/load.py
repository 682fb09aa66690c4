"""The whole service under load, next to the physical limits of its I/O, in one run.

Starts embedded PostgreSQL + Valkey, migrates, seeds (1M users, 1M signals, 5M
notifications by default; `--small` for 50k/50k/250k), then runs two `serve --workers 2`:
A (cache on) and B (ALPINE_CACHE_ENABLED=false, for the uncached figures). The rate
limit is set out of reach on both: its cost is part of every /api figure, but one load
generator would otherwise be throttled like one client. wrk -t1 -c32 drives each
scenario (login at -c4: 32 would only measure a queue of password hashes), and the
uncached reads also run at -c1, where p50 is the latency of one request on its own; scenarios are interleaved over `--rounds` rounds and the medians reported.

Physical-limit references measured in the same run: EVALSHA of the gate script and the
real subscribed-signals query over a bare asyncpg pool, each from 2 processes.

    uv run python -m bench [--small] [--seconds 5] [--rounds 3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import httpx

from alpine_api.db import load_queries
from alpine_api.pagination import DEFAULT_LIMIT
from alpine_api.resources import SQL_DIR
from alpine_api.seed import SEED_PASSWORD
from alpine_api.tokens import TokenService
from bench.harness import (
    JWT_SECRET,
    NO_LIMITS,
    Stack,
    WrkResult,
    admin_connection,
    machine,
    median_of,
    rss_mb,
    server,
    stack,
    table,
    worker_pids,
    write_results,
    wrk,
)

WRK_DIR = Path(__file__).resolve().parent / "wrk"


class Scenario(NamedTuple):
    name: str
    url: str
    headers: dict[str, str] | None = None
    connections: int = 32
    script: str | None = None
    script_args: list[str] | None = None


SIZES = {"full": (1_000_000, 1_000_000, 5_000_000), "small": (50_000, 50_000, 250_000)}
MIX_USERS = 10_000
# What the subscribed scenarios' pro user binds: (tier, min confidence, limit + 1 rows);
# the bare query loop binds the same.
SUBSCRIBED_PARAMS = ("pro", 0.85, DEFAULT_LIMIT + 1)


def seed(st: Stack, users: int, signals: int, notifications: int) -> float:
    """Seed unless the database already holds this size; returns seconds spent."""
    with admin_connection(st) as conn:
        have = conn.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM signals)"
        ).fetchone()
    if have and have[0] >= users and have[1] >= signals:
        print(f"reusing seeded data: {have[0]:,} users, {have[1]:,} signals")
        return 0.0
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alpine_api.cli",
            "seed",
            "--users",
            str(users),
            "--signals",
            str(signals),
            "--notifications",
            str(notifications),
        ],
        env=st.env(),
        check=True,
    )
    return time.monotonic() - started


# -- physical limits ---------------------------------------------------------------------


def _evalsha_process(redis_url: str, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import redis.asyncio as aioredis
    import uvloop

    from alpine_api.redis.client import RedisServer
    from alpine_api.redis.gate import Gate

    async def run() -> int:
        client = aioredis.Redis.from_url(redis_url)
        gate = Gate(RedisServer(client))
        done = 0
        deadline = time.monotonic() + seconds

        async def loop(i: int) -> None:
            nonlocal done
            while time.monotonic() < deadline:
                await gate.check(f"{{u:{i}}}:lim:bench", (10**9, 1000), user_id=i, jti="x")
                done += 1

        await asyncio.gather(*(loop(i) for i in range(16)))
        await client.aclose()
        return done

    out.put(uvloop.run(run()))


def query_process(
    database_url: str,
    seconds: float,
    out: multiprocessing.Queue,  # type: ignore[type-arg]
    params: tuple[str, float, int],
) -> None:
    """The subscribed-signals query, first page, with `params` = (tier, min confidence,
    rows to fetch): what the endpoint binds for those."""
    import asyncpg
    import uvloop

    from alpine_api.pagination import FIRST_PAGE

    tier, min_confidence, fetch = params

    sql = load_queries(SQL_DIR)["signals.list_subscribed"].sql

    async def run() -> int:
        pool = await asyncpg.create_pool(database_url, min_size=16, max_size=16)
        done = 0
        deadline = time.monotonic() + seconds

        async def loop() -> None:
            nonlocal done
            async with pool.acquire() as conn:
                while time.monotonic() < deadline:
                    await conn.fetch(
                        sql, tier, min_confidence, FIRST_PAGE.created_at, FIRST_PAGE.id, fetch
                    )
                    done += 1

        await asyncio.gather(*(loop() for _ in range(16)))
        await pool.close()
        return done

    out.put(uvloop.run(run()))


def physical_limit(target: object, url: str, seconds: float, *extra: object) -> float:
    """Operations per second of `target` run in 2 processes at once."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, seconds, out, *extra)) for _ in range(2)]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=seconds + 60) for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


# -- the run -----------------------------------------------------------------------------


def tokens_for(st: Stack, count: int) -> tuple[dict[str, int], Path]:
    """Ids of a pro user with unread notifications and an admin; a file of many tokens."""
    service = TokenService(JWT_SECRET, 86400)
    with admin_connection(st) as conn:
        pro = conn.execute(
            "SELECT n.user_id FROM notifications n JOIN users u ON u.id = n.user_id"
            " WHERE NOT n.is_read AND u.tier = 'pro' AND u.is_active LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
        admin = conn.execute(
            "INSERT INTO users (email, password_hash, is_admin) VALUES ('bench-admin@example.com', 'x', true)"
            " ON CONFLICT (email) DO UPDATE SET is_admin = true RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM users WHERE is_active ORDER BY random() LIMIT %s", (count,)
            )
        ]
        login_email = conn.execute(
            "SELECT email FROM users WHERE is_active AND NOT is_admin LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
    path = st.root / "mix-tokens.txt"
    path.write_text("\n".join(service.issue(i)[0] for i in ids) + "\n")
    return {"pro": pro, "admin": admin, "login_email": login_email}, path  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path("/var/tmp/alpine-bench"))
    args = parser.parse_args()
    users, signals, notifications = SIZES["small" if args.small else "full"]
    data_dir = args.data_dir / ("small" if args.small else "full")

    with stack(data_dir) as st:
        seed_seconds = seed(st, users, signals, notifications)
        who, tokens_file = tokens_for(st, MIX_USERS)
        service = TokenService(JWT_SECRET, 86400)
        pro = {"Authorization": f"Bearer {service.issue(who['pro'])[0]}"}
        admin = {"Authorization": f"Bearer {service.issue(who['admin'])[0]}"}
        with admin_connection(st) as conn:
            max_signal = conn.execute("SELECT max(id) FROM signals").fetchone()[0]  # type: ignore[index]
        limits = {
            "EVALSHA gate script (redis-py, 2 procs x 16)": physical_limit(
                _evalsha_process, st.redis_url, args.seconds
            ),
            "subscribed query on a bare asyncpg pool (2 procs x 16)": physical_limit(
                query_process, st.database_url, args.seconds, SUBSCRIBED_PARAMS
            ),
        }
        env = dict(NO_LIMITS)
        with server(st, **env) as a, server(st, ALPINE_CACHE_ENABLED="false", **env) as b:
            subscribed = f"/api/signals/subscribed?min_confidence={SUBSCRIBED_PARAMS[1]}"
            login = [who["login_email"], SEED_PASSWORD]
            mix_args = [str(tokens_file), str(max_signal)]
            scenarios = [
                Scenario("bare JSON (/health/live)", f"{a}/health/live"),
                Scenario("/health", f"{a}/health"),
                Scenario("subscribed, cache HIT", f"{a}{subscribed}", pro),
                Scenario("subscribed, uncached", f"{b}{subscribed}", pro),
                Scenario("subscribed, uncached, 1 connection", f"{b}{subscribed}", pro, 1),
                Scenario("/api/auth/me", f"{a}/api/auth/me", pro),
                Scenario("notifications?unread=true", f"{a}/api/notifications?unread=true", pro),
                Scenario("admin analytics, cached", f"{a}/api/admin/analytics", admin),
                Scenario("admin analytics, uncached", f"{b}/api/admin/analytics", admin),
                Scenario(
                    "admin analytics, uncached, 1 connection", f"{b}/api/admin/analytics", admin, 1
                ),
                Scenario(
                    "POST /api/auth/login, 4 connections",
                    f"{a}/api/auth/login",
                    {},
                    4,
                    "login.lua",
                    login,
                ),
                Scenario("mix (10k users, 5% writes)", a, {}, 32, "mix.lua", mix_args),
            ]
            with httpx.Client() as http:  # warm the caches once
                http.get(f"{a}{subscribed}", headers=pro)
                http.get(f"{a}/api/admin/analytics", headers=admin)
            runs: dict[str, list[WrkResult]] = {}
            rss: list[float] = []
            for _ in range(args.rounds):
                for sc in scenarios:
                    if sc.script == "mix.lua":
                        sampler = threading.Timer(
                            args.seconds * 0.8,
                            lambda: rss.extend(rss_mb(p) for p in worker_pids(a)),
                        )
                        sampler.start()
                    result = wrk(
                        sc.name,
                        sc.url,
                        headers=sc.headers,
                        connections=sc.connections,
                        seconds=args.seconds,
                        script=WRK_DIR / sc.script if sc.script else None,
                        script_args=sc.script_args,
                    )
                    runs.setdefault(sc.name, []).append(result)
            signal_fanout = _time_signal_create(a, admin)
    results = [median_of(r) for r in runs.values()]
    bare = results[0]
    limit_lines = "\n".join(f"| {name} | {ops:,.0f} ops/s |" for name, ops in limits.items())
    markdown = (
        f"Machine: {machine()}\n\n"
        f"Command: `uv run python -m bench{' --small' if args.small else ''} --seconds {args.seconds} "
        f"--rounds {args.rounds}` (wrk -t1 -c32 per scenario, serve --workers 2, uvloop; "
        f"medians of {args.rounds} interleaved rounds)\n\n"
        f"Data: {users:,} users, {signals:,} signals, {notifications:,} notifications"
        + (f" (seeded in {seed_seconds:.0f} s)" if seed_seconds else "")
        + f"\n\n{table(results, bare)}\n\n"
        f"| physical limit (same run) | |\n|---|---:|\n{limit_lines}\n\n"
        f"RSS per worker under the mix: max {max(rss, default=0):.0f} MB "
        f"(samples: {', '.join(f'{x:.0f}' for x in rss)})\n\n"
        f"POST /api/signals (tier starter): "
        f"{signal_fanout:.2f} s\n"
    )
    print(markdown)
    write_results(
        "load",
        {
            "machine": machine(),
            "results": results,
            "limits": limits,
            "rss_mb": rss,
            "signal_create_seconds": signal_fanout,
        },
        markdown,
    )


def _time_signal_create(base: str, admin: dict[str, str]) -> float:
    body = {
        "symbol": "BENCH",
        "direction": "long",
        "entry_price": 10.0,
        "target_price": 12.0,
        "stop_loss": 9.0,
        "confidence": 0.9,
        "tier": "starter",
        "note": None,
    }
    started = time.monotonic()
    response = httpx.post(f"{base}/api/signals", json=body, headers=admin, timeout=300)
    response.raise_for_status()
    return time.monotonic() - started


if __name__ == "__main__":
    main()
