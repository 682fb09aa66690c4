"""What the request identity costs: authenticated routes on the code of `--before` and on
this checkout, side by side in one run.

The identity (the gate's `auth` and `user`, the `authenticated` guard on every API route)
replaced string keys in the scope state and a `current_user` call in each handler. Both
servers run `serve --workers 2` (Granian, uvloop) against the same PostgreSQL, each with
a Valkey of its own and no rate limit to reach; wrk -t1 -c32, scenarios interleaved and
repeated, medians reported:
- profile HIT: GET /api/users/profile with a token (answered by the gate from Redis);
- unread count: GET /api/notifications/unread-count with a token (the guard, the handler,
  one query);
- plans: GET /api/subscriptions/plans, public, without a token.

    uv run python -m bench.identity [--seconds 5] [--rounds 3] [--before REV]
"""

from __future__ import annotations

from bench.gate_overhead import before_after_args, before_and_after, bench_user
from bench.harness import (
    UNLIMITED,
    WrkResult,
    machine,
    median_of,
    stack,
    table,
    write_results,
    wrk,
)

# The last commit before the typed identity (string keys in the scope state).
STRING_KEYS = "ef4a31c"
SCENARIOS = {
    "profile HIT": "/api/users/profile",
    "unread count": "/api/notifications/unread-count",
    "plans (public)": "/api/subscriptions/plans",
}


def measure(
    servers: dict[str, str], auth: dict[str, str], seconds: int, rounds: int
) -> dict[str, list[WrkResult]]:
    runs: dict[str, list[WrkResult]] = {}
    for _ in range(rounds):
        for scenario, path in SCENARIOS.items():
            headers = {} if path.endswith("/plans") else auth
            for variant, base in servers.items():
                name = f"{scenario} ({variant})"
                result = wrk(name, base + path, headers=headers, seconds=seconds)
                runs.setdefault(name, []).append(result)
    return runs


def main() -> None:
    args = before_after_args(STRING_KEYS)

    with stack() as st:
        auth = bench_user(st)
        limits = {f"ALPINE_{n}": UNLIMITED for n in ("RATE_LIMIT", "RATE_LIMIT_PRO")}
        with before_and_after(st, args.before, **limits) as (servers, _):
            runs = measure(servers, auth, args.seconds, args.rounds)
    results = {name: median_of(r) for name, r in runs.items()}
    rps = {name: r.requests_per_second for name, r in results.items()}
    ratios = "; ".join(
        f"{s}: after/before {rps[f'{s} (after)'] / rps[f'{s} (before)']:.2f}" for s in SCENARIOS
    )
    markdown = (
        f"Machine: {machine()}\n\nCommand: `uv run python -m bench.identity "
        f"--seconds {args.seconds} --rounds {args.rounds} --before {args.before}` (medians of "
        f"{args.rounds} interleaved rounds, wrk -t1 -c32, serve --workers 2)\n\n"
        f"{table(list(results.values()))}\n\nreq/s {ratios}\n"
    )
    print(markdown)
    write_results("identity", {"machine": machine(), "results": list(results.values())}, markdown)


if __name__ == "__main__":
    main()
