"""What the request gate and the response cache cost, side by side in one run.

Scenarios, all on `serve --workers 2` (Granian, uvloop), wrk -t1 -c32, interleaved and
repeated; medians reported:
- bare: GET /health/live, no Redis, no database (the framework's ceiling here);
- plans, limiter off / on: GET /api/subscriptions/plans (static JSON) on two servers
  that differ only in ALPINE_RATE_LIMIT_ENABLED (the limiter's own cost);
- profile HIT: GET /api/users/profile with a token (auth + rate limit + cache hit).
Redis round trips per cached authenticated request are counted with INFO commandstats.

    uv run python -m bench.gate_overhead [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import threading
import time

import httpx
import redis

from alpine_api.auth.tokens import TokenService
from bench.harness import (
    JWT_SECRET,
    UNLIMITED,
    WrkResult,
    admin_connection,
    machine,
    median_of,
    server,
    stack,
    table,
    write_results,
    wrk,
)


def round_trips(redis_url: str, base: str, headers: dict[str, str], n: int = 200) -> float:
    """Top-level Redis commands per cached authenticated request, read from MONITOR
    (commands a Lua script runs inside Redis are tagged `lua` there and not counted)."""
    stop = threading.Event()
    counted: list[str] = []

    def watch() -> None:
        with redis.Redis.from_url(redis_url).monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                if stop.is_set():
                    return
                if command.get("client_type") != "lua" and not command["command"].startswith(
                    ("PING", "MONITOR")
                ):
                    counted.append(command["command"].split()[0])

    ready = threading.Event()
    with httpx.Client(base_url=base) as http:
        http.get("/api/users/profile", headers=headers)  # warm: entry and user record cached
        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        ready.wait(5)
        time.sleep(0.2)
        for _ in range(n):
            assert http.get("/api/users/profile", headers=headers).headers["x-cache"] == "HIT"
        time.sleep(0.5)
        stop.set()
        redis.Redis.from_url(redis_url).ping()  # wakes the monitor so it sees `stop`
        thread.join(5)
    print("top-level commands seen:", {c: counted.count(c) for c in set(counted)})
    return len(counted) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with stack() as st:
        with admin_connection(st) as conn:
            user_id = conn.execute(
                "INSERT INTO users (email, password_hash, full_name) VALUES"
                " ('bench@example.com', 'x', 'Bench User') RETURNING id"
            ).fetchone()[0]  # type: ignore[index]
        token = TokenService(JWT_SECRET, 86400).issue(user_id)[0]
        auth = {"Authorization": f"Bearer {token}"}
        with (
            server(st, ALPINE_RATE_LIMIT=UNLIMITED) as on,
            server(st, ALPINE_RATE_LIMIT_ENABLED="false") as off,
        ):
            trips = round_trips(st.redis_url, on, auth)
            runs: dict[str, list[WrkResult]] = {}
            scenarios = [
                ("bare /health/live", f"{on}/health/live", {}),
                ("plans, limiter off", f"{off}/api/subscriptions/plans", {}),
                ("plans, limiter on", f"{on}/api/subscriptions/plans", {}),
                ("profile, auth + limiter + cache HIT", f"{on}/api/users/profile", auth),
            ]
            for _ in range(args.rounds):
                for name, url, headers in scenarios:
                    runs.setdefault(name, []).append(
                        wrk(name, url, headers=headers, seconds=args.seconds)
                    )
    results = [median_of(r) for r in runs.values()]
    bare, off_, on_, hit = results
    summary = (
        f"limiter cost: {1 - on_.requests_per_second / off_.requests_per_second:.1%} of req/s; "
        f"cache HIT at {hit.requests_per_second / bare.requests_per_second:.2f} of bare; "
        f"Redis commands per cached authenticated request: {trips:.2f}"
    )
    markdown = (
        f"Machine: {machine()}\n\nCommand: `uv run python -m bench.gate_overhead "
        f"--seconds {args.seconds} --rounds {args.rounds}` (medians of {args.rounds} interleaved "
        f"rounds, wrk -t1 -c32, serve --workers 2)\n\n{table(results, bare)}\n\n{summary}\n"
    )
    print(markdown)
    write_results(
        "gate_overhead", {"machine": machine(), "results": results, "round_trips": trips}, markdown
    )


if __name__ == "__main__":
    main()
