"""Uncached GET /api/signals/subscribed next to the bare asyncpg loop of the same query.

On the data `python -m bench` seeds (reused from its data dir; `--small` for the small
set), one `serve --workers 2` with ALPINE_CACHE_ENABLED=false and the rate limit out of
reach, and for each of the parameter sets below, interleaved over `--rounds` rounds:
- the endpoint, wrk -t1 -c32, as a pro user;
- the bare loop: the same named query with the same parameters (the pro tier, the same
  minimum confidence, the first page, limit + 1 rows) on a bare asyncpg pool,
  2 processes x 16 connections.
Medians are reported, with the endpoint's rate as a share of the bare loop's.

`--before REV` also serves the code of commit REV (extracted with `git archive`) on a
second server, measured in the same rounds. `--profile DIR` also records a py-spy profile (speedscope JSON) of each worker during one
more endpoint run; py-spy must be on PATH (`uv run --with py-spy python -m bench.uncached
--profile DIR`).

    uv run python -m bench.uncached [--small] [--seconds 5] [--rounds 3] [--before REV]
                                    [--profile DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

from alpine_api.pagination import DEFAULT_LIMIT
from alpine_api.tokens import TokenService
from bench.gate_overhead import source_of
from bench.harness import (
    JWT_SECRET,
    NO_LIMITS,
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
from bench.load import SIZES, physical_limit, query_process

PATH = "/api/signals/subscribed"
TIER = "pro"


class Case(NamedTuple):
    name: str
    min_confidence: float

    @property
    def query(self) -> str:
        return f"{PATH}?min_confidence={self.min_confidence}"


CASES = [Case("min_confidence=0.85", 0.85), Case("min_confidence=0", 0.0)]


def pro_user(st: object) -> int:
    with admin_connection(st) as conn:  # type: ignore[arg-type]
        row = conn.execute(
            "SELECT id FROM users WHERE tier = %s AND is_active ORDER BY id LIMIT 1", (TIER,)
        ).fetchone()
    if row is None:
        raise SystemExit("no active pro user: seed first (python -m bench)")
    return int(row[0])


def profile(base: str, case: Case, headers: dict[str, str], seconds: int, out: Path) -> None:
    """py-spy record of every worker while wrk drives the endpoint."""
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not on PATH: uv run --with py-spy python -m bench.uncached")
    out.mkdir(parents=True, exist_ok=True)
    spies = [
        subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--rate",
                "200",
                "--format",
                "speedscope",
                "--output",
                str(out / f"worker-{pid}.json"),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
        )
        for pid in worker_pids(base)
    ]
    wrk("profile", f"{base}{case.query}", headers=headers, seconds=seconds)
    for spy_proc in spies:
        spy_proc.wait(60)


def run(args: argparse.Namespace) -> tuple[dict[str, list[WrkResult]], dict[str, list[float]]]:
    """Every round: for each case, the endpoint on each server, then the bare loop."""
    size = "small" if args.small else "full"
    endpoint: dict[str, list[WrkResult]] = {}
    bare: dict[str, list[float]] = {}
    with stack(args.data_dir / size) as st:
        with admin_connection(st) as conn:
            have = conn.execute("SELECT count(*) FROM signals").fetchone()
        if not have or have[0] < SIZES[size][1]:
            raise SystemExit(f"the {size} data set is not seeded: run python -m bench first")
        token = TokenService(JWT_SECRET, 86400).issue(pro_user(st))[0]
        headers = {"Authorization": f"Bearer {token}"}
        env = {"ALPINE_CACHE_ENABLED": "false", **NO_LIMITS}
        with ExitStack() as servers:
            bases = {"now": servers.enter_context(server(st, **env))}
            if args.before:
                src = servers.enter_context(source_of(args.before))
                bases[args.before] = servers.enter_context(server(st, PYTHONPATH=str(src), **env))
            for _ in range(args.rounds):
                for case in CASES:
                    for code, base in bases.items():
                        endpoint.setdefault(f"{case.name} {code}", []).append(
                            wrk(
                                case.name,
                                f"{base}{case.query}",
                                headers=headers,
                                seconds=args.seconds,
                            )
                        )
                    params = (TIER, case.min_confidence, DEFAULT_LIMIT + 1)
                    bare.setdefault(case.name, []).append(
                        physical_limit(query_process, st.database_url, args.seconds, params)
                    )
            if args.profile is not None:
                profile(bases["now"], CASES[0], headers, args.seconds, args.profile)
    return endpoint, bare


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.uncached")
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path("/var/tmp/alpine-bench"))
    parser.add_argument("--before", default=None, help="also serve the code of this commit")
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    endpoint, bare = run(args)
    lines = [
        "| parameters | code | endpoint req/s | bare loop ops/s | ratio | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    summary = []
    for case in CASES:
        loop = statistics.median(bare[case.name])
        for code in ["now", args.before] if args.before else ["now"]:
            api = median_of(endpoint[f"{case.name} {code}"])
            ratio = api.requests_per_second / loop
            summary.append({"case": case.name, "code": code, "endpoint": api, "bare": loop})
            lines.append(
                f"| {case.name} | {code} | {api.requests_per_second:,.0f} | {loop:,.0f} "
                f"| {ratio:.2f} | {api.p50_ms:.2f} | {api.p99_ms:.2f} | {api.errors} |"
            )
    before = f" --before {args.before}" if args.before else ""
    markdown = (
        f"Machine: {machine()}\n\n"
        f"Command: `uv run python -m bench.uncached{' --small' if args.small else ''} "
        f"--seconds {args.seconds} --rounds {args.rounds}{before}` (endpoint: wrk -t1 -c32, "
        f"serve --workers 2, cache off; bare loop: 2 processes x 16; medians of "
        f"{args.rounds} interleaved rounds)\n\n" + "\n".join(lines) + "\n"
    )
    print(markdown)
    write_results("uncached", {"machine": machine(), "results": summary}, markdown)


if __name__ == "__main__":
    main()
