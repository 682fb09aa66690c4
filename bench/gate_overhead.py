"""What the request gate and the response cache cost, side by side in one run.

Scenarios, all on `serve --workers 2` (Granian, uvloop), wrk -t1 -c32, interleaved and
repeated; medians reported:
- bare: GET /health/live, no Redis, no database (the framework's ceiling here);
- plans, limiter off / on: GET /api/subscriptions/plans (static JSON) on two servers
  that differ only in ALPINE_RATE_LIMIT_ENABLED (the limiter's own cost), anonymous (all
  from one IP: wrk's 32 connections are one client with many requests in flight, whose
  decisions the gate groups);
- me + token, limiter off / on: GET /api/auth/me with a user's token, the trivial
  authenticated request (one gate call per request whether the limiter is on or off, as
  it also does the auth lookups; the gate answers from the user's record);
- the same two on the code of `--before` (default: the last commit with the sliding-log
  limiter), extracted with `git archive`; each limiter-on server has a fresh Valkey of
  its own, on which Valkey's time per gate call (`usec_per_call` of EVALSHA in INFO
  commandstats, reset before each of these runs) and gate calls per request are read;
  for every limiter run, the CPU per request of the server's workers (/proc) and of its
  Valkey (INFO cpu) too;
- profile HIT: GET /api/users/profile with a token (auth + rate limit + cache hit).
Redis round trips per cached authenticated request (a hit) and per cache miss are counted
with MONITOR.

    uv run python -m bench.gate_overhead [--seconds 5] [--rounds 3] [--before REV]
"""

from __future__ import annotations

import argparse
import io
import os
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
from typing import NamedTuple

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
    worker_pids,
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


class LimiterRun(NamedTuple):
    result: WrkResult
    worker_cpu_us: float  # the server's workers' CPU (user + system) per request
    valkey_cpu_us: float  # Valkey's CPU per request (INFO cpu: its networking included)
    usec_per_call: float  # Valkey's time inside each gate call (INFO commandstats)
    calls_per_request: float  # gate calls (EVALSHA) per request answered


def _cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _valkey_cpu_seconds(valkey: redis.Redis) -> float:
    cpu = valkey.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def timed_wrk(
    name: str, base: str, path: str, redis_url: str, seconds: int, headers: dict[str, str] | None
) -> LimiterRun:
    """wrk on `base` + `path`, with the CPU the server's workers and its Valkey spent
    meanwhile, Valkey's usec_per_call and the number of gate calls."""
    valkey = redis.Redis.from_url(redis_url)
    valkey.config_resetstat()
    pids = worker_pids(base)
    workers, valkey_cpu = _cpu_seconds(pids), _valkey_cpu_seconds(valkey)
    result = wrk(name, base + path, headers=headers, seconds=seconds)
    workers, valkey_cpu = _cpu_seconds(pids) - workers, _valkey_cpu_seconds(valkey) - valkey_cpu
    stats = valkey.info("commandstats").get("cmdstat_evalsha", {"usec_per_call": 0.0, "calls": 0})
    valkey.close()
    n = max(result.requests, 1)
    return LimiterRun(
        result,
        workers * 1e6 / n,
        valkey_cpu * 1e6 / n,
        float(stats["usec_per_call"]),
        int(stats["calls"]) / n,
    )


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


# The limiter scenarios: (label, path, with a token). /api/auth/me with a token is the
# trivial authenticated request (answered from the user's record in the gate call, which
# it makes whether the limiter is on or not: the call also does the auth lookups).
LIMITER_SCENARIOS = (
    ("plans", "/api/subscriptions/plans", False),
    ("me + token", "/api/auth/me", True),
)


def measure(
    servers: dict[str, str],
    valkeys: dict[str, str],
    auth: dict[str, str],
    seconds: int,
    rounds: int,
) -> tuple[dict[str, list[WrkResult]], dict[str, list[LimiterRun]]]:
    """Every scenario `rounds` times, interleaved; with CPU and Valkey figures for
    the limiter scenarios."""
    runs: dict[str, list[WrkResult]] = {}
    limited: dict[str, list[LimiterRun]] = {}
    for _ in range(rounds):
        name = "bare /health/live"
        runs.setdefault(name, []).append(
            wrk(name, f"{servers['after on']}/health/live", seconds=seconds)
        )
        for variant in ("before", "after"):
            for label, path, with_token in LIMITER_SCENARIOS:
                for state in ("off", "on"):
                    name = f"{label}, limiter {state} ({variant})"
                    base, redis_url = servers[f"{variant} {state}"], valkeys[f"{variant} {state}"]
                    headers = auth if with_token else None
                    run = timed_wrk(name, base, path, redis_url, seconds, headers)
                    runs.setdefault(name, []).append(run.result)
                    limited.setdefault(name, []).append(run)
        name = "profile, auth + limiter + cache HIT"
        profile = f"{servers['after on']}/api/users/profile"
        runs.setdefault(name, []).append(wrk(name, profile, headers=auth, seconds=seconds))
    return runs, limited


def limiter_summary(medians: dict[str, WrkResult], limited: dict[str, list[LimiterRun]]) -> str:
    """Per limiter scenario and code: the limiter's share of req/s (on vs off), the CPU
    per request of the workers and of Valkey (off -> on), Valkey's usec per gate call and
    gate calls per request with the limiter on (medians)."""
    lines = [
        "| scenario | code | limiter's share of req/s | workers' CPU us/request |"
        " Valkey CPU us/request | Valkey us per gate call | gate calls per request |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]

    def median(name: str, field: str) -> float:
        return statistics.median(getattr(run, field) for run in limited[name])

    for label, _, _ in LIMITER_SCENARIOS:
        for variant in ("before", "after"):
            on, off = (f"{label}, limiter {state} ({variant})" for state in ("on", "off"))
            share = 1 - medians[on].requests_per_second / medians[off].requests_per_second
            workers = f"{median(off, 'worker_cpu_us'):.0f} -> {median(on, 'worker_cpu_us'):.0f}"
            valkey = f"{median(off, 'valkey_cpu_us'):.1f} -> {median(on, 'valkey_cpu_us'):.1f}"
            lines.append(
                f"| {label} | {variant} | {share:.1%} | {workers} | {valkey} |"
                f" {median(on, 'usec_per_call'):.2f} | {median(on, 'calls_per_request'):.2f} |"
            )
    return "\n".join(lines)


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
            valkeys = {"before on": before_valkey, "after on": after_valkey}
            valkeys["before off"] = valkeys["after off"] = st.redis_url
            runs, limited = measure(servers, valkeys, auth, args.seconds, args.rounds)
    medians = {name: median_of(r) for name, r in runs.items()}
    results = list(medians.values())
    bare, hit = medians["bare /health/live"], medians["profile, auth + limiter + cache HIT"]
    summary = (
        f"{limiter_summary(medians, limited)}\n\n"
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
            "limiter": limited,
        },
        markdown,
    )


if __name__ == "__main__":
    main()
