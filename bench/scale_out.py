"""One instance on one Valkey against two instances on a 3-master Valkey Cluster, on the
same machine and the same total cores: what the scaled-out topology costs per request.

Topologies (Granian + uvloop, 2 workers in total in each, same PostgreSQL):
- single: one `serve --workers 2` on one Valkey;
- cluster, 1 instance: one `serve --workers 2` on the cluster (the cluster client alone);
- cluster, 2 instances: two `serve --workers 1` on the cluster, load split between them.
Endpoints: the cached read GET /api/users/profile (auth + rate limit + cache HIT) and the
rate-limited write PATCH /api/users/profile (a database write plus the user's cache
invalidation). The limiter is on with a limit the benchmark never meets. Load: two wrk
processes (-t1 -c16 each) at once, one per instance where there are two; req/s summed,
p50 averaged, p99 the worse of the two. Rounds interleave the topologies; medians reported.

    uv run python -m bench.scale_out [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from alpine_api.tokens import TokenService
from bench.harness import (
    JWT_SECRET,
    NO_LIMITS,
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
from bench.valkey_cluster import ValkeyCluster

PATCH_SCRIPT = """\
wrk.method = "PATCH"
wrk.body = '{"full_name": "Bench Writer"}'
wrk.headers["Content-Type"] = "application/json"
"""


def wrk_pair(name: str, urls: list[str], path: str, seconds: int, **kwargs: object) -> WrkResult:
    """Two wrk processes at once, on urls[0] and urls[-1] (the same one when alone)."""
    targets = [urls[0] + path, urls[-1] + path]
    with ThreadPoolExecutor(2) as pool:
        runs = list(
            pool.map(
                lambda url: wrk(name, url, connections=16, seconds=seconds, **kwargs),  # type: ignore[arg-type]
                targets,
            )
        )
    return WrkResult(
        name,
        sum(r.requests_per_second for r in runs),
        statistics.mean(r.p50_ms for r in runs),
        max(r.p99_ms for r in runs),
        sum(r.errors for r in runs),
        sum(r.requests for r in runs),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with stack() as st, ExitStack() as running:
        root = Path(tempfile.mkdtemp(prefix="alpine-bench-cluster-"))
        cluster = ValkeyCluster(root, masters=3).start()
        running.callback(cluster.stop)
        with admin_connection(st) as conn:
            user_id = conn.execute(
                "INSERT INTO users (email, password_hash, full_name) VALUES"
                " ('scale@example.com', 'x', 'Bench User') RETURNING id"
            ).fetchone()[0]  # type: ignore[index]
        token = TokenService(JWT_SECRET, 86400).issue(user_id)[0]
        auth = {"Authorization": f"Bearer {token}"}
        script = root / "patch.lua"
        script.write_text(PATCH_SCRIPT)
        on_cluster = {"ALPINE_REDIS_URL": cluster.url, "ALPINE_REDIS_CLUSTER": "true"}
        limit = NO_LIMITS
        topologies = {
            "single Valkey, 1 instance x 2 workers": [
                running.enter_context(server(st, workers=2, **limit))
            ],
            "cluster, 1 instance x 2 workers": [
                running.enter_context(server(st, workers=2, **limit, **on_cluster))
            ],
            "cluster, 2 instances x 1 worker": [
                running.enter_context(server(st, workers=1, **limit, **on_cluster))
                for _ in range(2)
            ],
        }
        endpoints = [
            ("cached read GET /api/users/profile", {"headers": auth}),
            ("rate-limited write PATCH /api/users/profile", {"headers": auth, "script": script}),
        ]
        runs: dict[str, list[WrkResult]] = {}
        for _ in range(args.rounds):
            for endpoint, options in endpoints:
                for topology, urls in topologies.items():
                    name = f"{endpoint}: {topology}"
                    result = wrk_pair(name, urls, "/api/users/profile", args.seconds, **options)
                    runs.setdefault(name, []).append(result)
    results = [median_of(r) for r in runs.values()]
    reads, writes = results[:3], results[3:]
    markdown = (
        f"Machine: {machine()}\n\nCommand: `uv run python -m bench.scale_out --seconds "
        f"{args.seconds} --rounds {args.rounds}` (medians of {args.rounds} interleaved rounds; "
        "two wrk -t1 -c16 at once; 2 Granian workers in total in every topology; "
        "3-master Valkey Cluster without replicas; baseline: single Valkey)\n\n"
        f"{table(reads, reads[0])}\n\n{table(writes, writes[0])}\n"
    )
    print(markdown)
    write_results("scale_out", {"machine": machine(), "results": results}, markdown)


if __name__ == "__main__":
    main()
