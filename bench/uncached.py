"""Uncached GET /api/signals/subscribed next to the bare asyncpg loop of the same query.

On the data `python -m bench` seeds (reused from its data dir; `--small` for the small
set), one `serve --workers 2` with ALPINE_CACHE_ENABLED=false and the rate limit out of
reach, and for each of the parameter sets below, interleaved over `--rounds` rounds:
- the endpoint, wrk -t1 -c32, as a pro user;
- the bare loop: the same named query with the same parameters (the pro tier, the same
  minimum confidence, the first page, limit + 1 rows) on a bare asyncpg pool,
  2 processes x 16 connections;
and once a round GET /health/live (no Redis, no database: the framework's floor).
CPU per request is read from /proc for the server's workers, PostgreSQL (postmaster,
backends, reaped backends) and Valkey; the bare loop's processes count their own, wrk is
the bench's reaped child.
Medians are reported, with the endpoint's rate as a share of the bare loop's.

`--before REV` also serves the code of commit REV (extracted with `git archive`) on a
second server, measured in the same rounds. `--profile DIR` also records a py-spy
profile (speedscope JSON) of each worker during one more endpoint run; py-spy must be on
PATH (`uv run --with py-spy python -m bench.uncached --profile DIR`).

    uv run python -m bench.uncached [--small] [--seconds 5] [--rounds 3] [--before REV]
                                    [--profile DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import NamedTuple

from alpine_api.pagination import DEFAULT_LIMIT
from alpine_api.tokens import TokenService
from bench.gate_overhead import source_of
from bench.harness import (
    JWT_SECRET,
    NO_LIMITS,
    Stack,
    WrkResult,
    admin_connection,
    machine,
    median_of,
    server,
    stack,
    worker_pids,
    write_results,
    wrk,
)
from bench.load import SIZES, query_process

PATH = "/api/signals/subscribed"
TIER = "pro"


class Case(NamedTuple):
    name: str
    min_confidence: float

    @property
    def query(self) -> str:
        return f"{PATH}?min_confidence={self.min_confidence}"


CASES = [Case("min_confidence=0.85", 0.85), Case("min_confidence=0", 0.0)]
# The framework's floor: GET /health/live (no Redis, no database) on the same server.
FLOOR = "/health/live"
GROUPS = ("Python", "PostgreSQL", "Valkey", "wrk")
# Which CpuMeter reading each group is, for the endpoint (plus its server's workers as
# "Python") and for the bare loop.
SERVICE_SIDE = {"PostgreSQL": "postgres", "Valkey": "valkey", "wrk": "children"}
BARE_LOOP = {"PostgreSQL": "postgres", "Valkey": "valkey"}  # the loop counts its own
TICKS = os.sysconf("SC_CLK_TCK")


def pro_user(st: Stack, size: str) -> int:
    """An active pro user of the seeded data set of `size`."""
    with admin_connection(st) as conn:
        signals = conn.execute("SELECT count(*) FROM signals").fetchone()
        user = conn.execute(
            "SELECT id FROM users WHERE tier = %s AND is_active ORDER BY id LIMIT 1", (TIER,)
        ).fetchone()
    if signals is None or signals[0] < SIZES[size][1] or user is None:
        raise SystemExit(f"the {size} data set is not seeded: run python -m bench first")
    return int(user[0])


def profile(base: str, case: Case, headers: dict[str, str], seconds: int, out: Path) -> None:
    """py-spy record of every worker while wrk drives the endpoint."""
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not on PATH: uv run --with py-spy python -m bench.uncached")
    out.mkdir(parents=True, exist_ok=True)
    options = f"--duration {seconds} --rate 200 --format speedscope --nonblocking".split()
    spies = [
        subprocess.Popen(
            [spy, "record", "--pid", str(pid), *options, "-o", str(out / f"worker-{pid}.json")],
            stdout=subprocess.DEVNULL,
        )
        for pid in worker_pids(base)
    ]
    wrk("profile", f"{base}{case.query}", headers=headers, seconds=seconds)
    for spy_proc in spies:
        spy_proc.wait(60)


class CpuMeter:
    """CPU seconds used so far, by process group: the service's workers (or the bench's
    reaped children: the bare loop's processes, wrk), PostgreSQL (the postmaster, its
    live backends and the ones it has reaped) and Valkey."""

    def __init__(self, st: Stack, workers: dict[str, list[int]]) -> None:
        self.postmaster = _pid(st.postgres.proc)
        self.valkey = _pid(st.valkey.proc)
        self.workers = workers

    def read(self) -> dict[str, float]:
        backends = [pid for pid, ppid in _parents().items() if ppid == self.postmaster]
        own = resource.getrusage(resource.RUSAGE_CHILDREN)
        groups = {code: sum(map(_cpu, pids)) for code, pids in self.workers.items()}
        return groups | {
            "children": own.ru_utime + own.ru_stime,
            "postgres": _cpu(self.postmaster, reaped=True) + sum(map(_cpu, backends)),
            "valkey": _cpu(self.valkey),
        }


def _pid(proc: subprocess.Popen[bytes] | None) -> int:
    assert proc is not None, "the stack is running"
    return proc.pid


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return ["-"] * 15


def _cpu(pid: int, *, reaped: bool = False) -> float:
    """utime + stime (and with `reaped`, the waited-for children's) in seconds."""
    fields = _stat(pid)[11:15] if reaped else _stat(pid)[11:13]
    return sum(int(f) for f in fields if f != "-") / TICKS


def _parents() -> dict[int, int]:
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return {pid: int(fields[1]) for pid in pids if (fields := _stat(pid))[1] != "-"}


class Measured(NamedTuple):
    rate: float  # requests or queries per second
    cpu_us: dict[str, float]  # CPU microseconds per request, by process group
    http: WrkResult | None = None


# What a job reports: its rate, its wrk result if any, CPU seconds it counted itself.
Outcome = tuple[float, WrkResult | None, dict[str, float]]


def measured(
    meter: CpuMeter, job: Callable[[], Outcome], seconds: int, groups: dict[str, str]
) -> Measured:
    """Runs `job` (`seconds` long): CPU per operation of each group ({label: meter key})
    and of what the job counted itself."""
    before = meter.read()
    rate, http, own = job()
    after = meter.read()
    done = rate * seconds
    cpu = {label: after[key] - before[key] for label, key in groups.items()} | own
    return Measured(rate, {label: s / done * 1e6 for label, s in cpu.items()}, http)


def endpoint(url: str, headers: dict[str, str], seconds: int) -> Outcome:
    result = wrk("endpoint", url, headers=headers, seconds=seconds)
    return result.requests_per_second, result, {}


def _timed_query_process(
    database_url: str,
    seconds: float,
    out: multiprocessing.Queue,  # type: ignore[type-arg]
    params: tuple[str, float, int],
) -> None:
    """bench.load's query loop, reporting (queries, CPU seconds) of this process after its
    imports, which a short loop would otherwise be charged with."""
    started = time.process_time()
    done: queue.SimpleQueue[int] = queue.SimpleQueue()
    query_process(database_url, seconds, done, params)  # type: ignore[arg-type]
    out.put((done.get(), time.process_time() - started))


def bare_loop(database_url: str, seconds: int, params: tuple[str, float, int]) -> Outcome:
    """The query loop in 2 processes x 16 connections: queries/s and their CPU."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    args = (database_url, seconds, out, params)
    procs = [ctx.Process(target=_timed_query_process, args=args) for _ in range(2)]
    for p in procs:
        p.start()
    reports = [out.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join()
    return sum(n for n, _ in reports) / seconds, None, {"Python": sum(c for _, c in reports)}


def run(args: argparse.Namespace) -> dict[str, list[Measured]]:
    """Every round: for each case, the endpoint on each server, then the bare loop."""
    size = "small" if args.small else "full"
    runs: dict[str, list[Measured]] = {}
    with stack(args.data_dir / size) as st:
        token = TokenService(JWT_SECRET, 86400).issue(pro_user(st, size))[0]
        headers = {"Authorization": f"Bearer {token}"}
        env = {"ALPINE_CACHE_ENABLED": "false", **NO_LIMITS}
        with ExitStack() as servers:
            bases = {"now": servers.enter_context(server(st, **env))}
            if args.before:
                src = servers.enter_context(source_of(args.before))
                bases[args.before] = servers.enter_context(server(st, PYTHONPATH=str(src), **env))
            meter = CpuMeter(st, {code: worker_pids(base) for code, base in bases.items()})
            for _ in range(args.rounds):
                for case in CASES:
                    for code, base in bases.items():
                        http = partial(endpoint, f"{base}{case.query}", headers, args.seconds)
                        runs.setdefault(f"{case.name}|{code}", []).append(
                            measured(meter, http, args.seconds, {"Python": code, **SERVICE_SIDE})
                        )
                    params = (TIER, case.min_confidence, DEFAULT_LIMIT + 1)
                    loop = partial(bare_loop, st.database_url, args.seconds, params)
                    runs.setdefault(f"{case.name}|bare loop", []).append(
                        measured(meter, loop, args.seconds, BARE_LOOP)
                    )
                live = partial(endpoint, f"{bases['now']}/health/live", {}, args.seconds)
                runs.setdefault(f"{FLOOR}|now", []).append(
                    measured(meter, live, args.seconds, {"Python": "now", **SERVICE_SIDE})
                )
            if args.profile is not None:
                profile(bases["now"], CASES[0], headers, args.seconds, args.profile)
    return runs


def report(runs: dict[str, list[Measured]], args: argparse.Namespace) -> str:
    lines = [
        "| parameters | code | req/s | vs bare loop | p50 ms | p99 ms | errors "
        "| CPU us/request: Python | PostgreSQL | Valkey | wrk |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in [*CASES, Case(FLOOR, CASES[0].min_confidence)]:
        compared = CASES[0].name if case.name == FLOOR else case.name
        bare = statistics.median(m.rate for m in runs[f"{compared}|bare loop"])
        for key, measures in runs.items():
            name, code = key.split("|")
            if name != case.name:
                continue
            rate = statistics.median(m.rate for m in measures)
            cpu = [statistics.median(m.cpu_us.get(g, 0.0) for m in measures) for g in GROUPS]
            cells = [name, code, f"{rate:,.0f}", f"{rate / bare:.2f}", "-", "-", "-"]
            if https := [m.http for m in measures if m.http is not None]:
                http = median_of(https)
                cells[4:] = [f"{http.p50_ms:.2f}", f"{http.p99_ms:.2f}", str(http.errors)]
            cells += [f"{c:,.0f}" if c else "-" for c in cpu]
            lines.append("| " + " | ".join(cells) + " |")
    before = f" --before {args.before}" if args.before else ""
    return (
        f"Machine: {machine()}\n\n"
        f"Command: `uv run python -m bench.uncached{' --small' if args.small else ''} "
        f"--seconds {args.seconds} --rounds {args.rounds}{before}` (endpoint: wrk -t1 -c32, "
        f"serve --workers 2, cache off; bare loop: 2 processes x 16; medians of "
        f"{args.rounds} interleaved rounds)\n\n" + "\n".join(lines) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.uncached")
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path("/var/tmp/alpine-bench"))
    parser.add_argument("--before", default=None, help="also serve the code of this commit")
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    runs = run(args)
    markdown = report(runs, args)
    print(markdown)
    write_results("uncached", {"machine": machine(), "runs": runs}, markdown)


if __name__ == "__main__":
    main()
