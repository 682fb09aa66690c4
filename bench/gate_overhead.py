"""What the request gate and the response cache cost, side by side in one run.

Scenarios, all on `serve --workers 2` (Granian, uvloop), wrk -t1 -c32, interleaved and
repeated; medians reported:
- bare: GET /health/live, no Redis, no database (the framework's ceiling here);
- plans, limiter off / on: GET /api/subscriptions/plans (static JSON) on two servers
  that differ only in ALPINE_RATE_LIMIT_ENABLED (the limiter's own cost);
- the same two on the code of `--before` (default: the last commit with the sliding-log
  limiter), extracted with `git archive`; each limiter-on server has a fresh Valkey of
  its own, on which Valkey's time per gate decision (`usec_per_call` of EVALSHA in INFO
  commandstats, reset before each of these runs) is read;
- profile HIT: GET /api/users/profile with a token (auth + rate limit + cache hit).
Redis round trips per cached authenticated request (a hit) and per cache miss are counted
with MONITOR.

    uv run python -m bench.gate_overhead [--seconds 5] [--rounds 3] [--before REV]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from alpine_api.embedded import EmbeddedValkey
from alpine_api.tokens import TokenService
from bench.harness import (
    JWT_SECRET,
    UNLIMITED,
    Stack,
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

REPO = Path(__file__).resolve().parents[1]
# The last commit whose limiter kept a sliding log (one sorted-set entry per request).
SLIDING_LOG = "719ef07"


@contextmanager
def source_of(rev: str) -> Iterator[Path]:
    """The package source of commit `rev` (with the SQL files it loads), for PYTHONPATH."""
    root = Path(tempfile.mkdtemp(prefix="alpine-before-"))
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "src", "sql", "migrations"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    try:
        yield root / "src"
    finally:
        shutil.rmtree(root)


@contextmanager
def valkey_of_its_own(data_dir: Path) -> Iterator[str]:
    valkey = EmbeddedValkey(data_dir)
    valkey.start()
    try:
        yield valkey.url
    finally:
        valkey.stop()


@contextmanager
def before_and_after(
    st: Stack, rev: str, **env: str
) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """Two servers, on the code of commit `rev` and on this checkout, each with a fresh
    Valkey of its own: ({"before": base URL, "after": ...}, the same for the Valkey URLs)."""
    with (
        source_of(rev) as before_src,
        valkey_of_its_own(st.root / "valkey-before") as before_valkey,
        valkey_of_its_own(st.root / "valkey-after") as after_valkey,
        server(st, PYTHONPATH=str(before_src), ALPINE_REDIS_URL=before_valkey, **env) as before,
        server(st, ALPINE_REDIS_URL=after_valkey, **env) as after,
    ):
        yield {"before": before, "after": after}, {"before": before_valkey, "after": after_valkey}


def timed_wrk(name: str, url: str, redis_url: str, seconds: int) -> tuple[WrkResult, float]:
    """wrk on `url` and Valkey's usec_per_call of EVALSHA meanwhile."""
    valkey = redis.Redis.from_url(redis_url)
    valkey.config_resetstat()
    result = wrk(name, url, seconds=seconds)
    stats = valkey.info("commandstats").get("cmdstat_evalsha", {"usec_per_call": 0.0})
    valkey.close()
    return result, float(stats["usec_per_call"])


def before_after_args(before: str) -> argparse.Namespace:
    """--seconds and --rounds of each wrk scenario, --before: the commit to compare with."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", default=before, help="commit to compare with")
    return parser.parse_args()


def bench_user(st: Stack) -> dict[str, str]:
    """A starter user of the stack's database: the Authorization header of their token."""
    with admin_connection(st) as conn:
        user_id = conn.execute(
            "INSERT INTO users (email, password_hash, full_name) VALUES"
            " ('bench@example.com', 'x', 'Bench User') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
    return {"Authorization": f"Bearer {TokenService(JWT_SECRET, 86400).issue(user_id)[0]}"}


@contextmanager
def monitored(redis_url: str) -> Iterator[list[str]]:
    """The top-level Redis commands sent while the block runs, read from MONITOR (commands
    a Lua script runs inside Redis are tagged `lua` there and not counted)."""
    stop, ready = threading.Event(), threading.Event()
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

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    time.sleep(0.2)
    try:
        yield counted
    finally:
        time.sleep(0.5)  # writes nothing waits for (a miss's cache_set) land meanwhile
        stop.set()
        redis.Redis.from_url(redis_url).ping()  # wakes the monitor so it sees `stop`
        thread.join(5)
        print("top-level commands seen:", {c: counted.count(c) for c in set(counted)})


def round_trips(redis_url: str, base: str, headers: dict[str, str], n: int = 200) -> float:
    """Top-level Redis commands per cached authenticated request (a hit)."""
    with httpx.Client(base_url=base) as http:
        http.get("/api/users/profile", headers=headers)  # warm: entry and user record cached
        with monitored(redis_url) as counted:
            for _ in range(n):
                assert http.get("/api/users/profile", headers=headers).headers["x-cache"] == "HIT"
    return len(counted) / n


def miss_round_trips(redis_url: str, base: str, headers: dict[str, str], n: int = 200) -> float:
    """Top-level Redis commands per cache miss of an authenticated request whose user
    record is cached: GET /api/signals/subscribed (a tier-scoped page) with a query no
    other request has, so every one misses."""
    path = "/api/signals/subscribed"
    with httpx.Client(base_url=base) as http:
        http.get(path, headers=headers)  # warm: the user's record cached
        with monitored(redis_url) as counted:
            for i in range(n):
                query = {"min_confidence": f"0.{i + 1:06d}"}
                response = http.get(path, headers=headers, params=query)
                assert response.headers["x-cache"] == "MISS"
    return len(counted) / n


def measure(
    servers: dict[str, str],
    valkeys: dict[str, str],
    auth: dict[str, str],
    seconds: int,
    rounds: int,
) -> tuple[dict[str, list[WrkResult]], dict[str, list[float]]]:
    """Every scenario `rounds` times, interleaved; Valkey's usec_per_call for each limiter."""
    runs: dict[str, list[WrkResult]] = {}
    usec: dict[str, list[float]] = {"before": [], "after": []}
    plans = "/api/subscriptions/plans"
    for _ in range(rounds):
        name = "bare /health/live"
        runs.setdefault(name, []).append(
            wrk(name, f"{servers['after on']}/health/live", seconds=seconds)
        )
        for variant in ("before", "after"):
            name = f"plans, limiter off ({variant})"
            url = servers[f"{variant} off"] + plans
            runs.setdefault(name, []).append(wrk(name, url, seconds=seconds))
            name = f"plans, limiter on ({variant})"
            url = servers[f"{variant} on"] + plans
            result, per_call = timed_wrk(name, url, valkeys[variant], seconds)
            runs.setdefault(name, []).append(result)
            usec[variant].append(per_call)
        name = "profile, auth + limiter + cache HIT"
        profile = f"{servers['after on']}/api/users/profile"
        runs.setdefault(name, []).append(wrk(name, profile, headers=auth, seconds=seconds))
    return runs, usec


def main() -> None:
    args = before_after_args(SLIDING_LOG)

    with stack() as st:
        auth = bench_user(st)
        old = {"ALPINE_RATE_LIMIT": UNLIMITED}
        with (
            source_of(args.before) as before_src,
            valkey_of_its_own(st.root / "valkey-before") as before_valkey,
            valkey_of_its_own(st.root / "valkey-after") as after_valkey,
            server(st, ALPINE_RATE_LIMIT=UNLIMITED, ALPINE_REDIS_URL=after_valkey) as on,
            server(st, ALPINE_RATE_LIMIT_ENABLED="false") as off,
            server(
                st, PYTHONPATH=str(before_src), ALPINE_REDIS_URL=before_valkey, **old
            ) as before_on,
            server(st, PYTHONPATH=str(before_src), ALPINE_RATE_LIMIT_ENABLED="false") as before_off,
        ):
            trips = round_trips(after_valkey, on, auth)
            miss_trips = miss_round_trips(after_valkey, on, auth)
            servers = {"after on": on, "after off": off, "before on": before_on}
            servers["before off"] = before_off
            valkeys = {"before": before_valkey, "after": after_valkey}
            runs, usec = measure(servers, valkeys, auth, args.seconds, args.rounds)
    results = [median_of(r) for r in runs.values()]
    bare, before_off_, before_on_, after_off_, after_on_, hit = results
    usec_before, usec_after = (statistics.median(usec[v]) for v in ("before", "after"))
    summary = (
        "limiter cost (limiter on vs off, same code): "
        f"{1 - after_on_.requests_per_second / after_off_.requests_per_second:.1%} of req/s "
        f"(before: {1 - before_on_.requests_per_second / before_off_.requests_per_second:.1%}); "
        f"Valkey usec_per_call of the gate script: {usec_after:.2f} "
        f"(before: {usec_before:.2f}); "
        f"cache HIT at {hit.requests_per_second / bare.requests_per_second:.2f} of bare; "
        f"Redis commands per cached authenticated request: {trips:.2f}, "
        f"per cache miss: {miss_trips:.2f}"
    )
    markdown = (
        f"Machine: {machine()}\n\nCommand: `uv run python -m bench.gate_overhead "
        f"--seconds {args.seconds} --rounds {args.rounds} --before {args.before}` (medians of "
        f"{args.rounds} interleaved rounds, wrk -t1 -c32, serve --workers 2)\n\n"
        f"{table(results, bare)}\n\n{summary}\n"
    )
    print(markdown)
    write_results(
        "gate_overhead",
        {
            "machine": machine(),
            "results": results,
            "round_trips": trips,
            "miss_round_trips": miss_trips,
            "usec_per_call": usec,
        },
        markdown,
    )


if __name__ == "__main__":
    main()
