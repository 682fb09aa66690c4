"""Publishing a signal and reading derived notification feeds, at 100k / 300k / 1M users.

One embedded PostgreSQL + Valkey and `serve --workers 2`; the database grows in steps
(seeded once and reused by a later run with the same --data-dir) to 100k, 300k and 1M
users, 10,000 signals and 5,000,000 personal notifications. At each step, side by side:
- after: `POST /api/signals` over HTTP, `--publishes` times per tier (p50 / p99), each
  followed by a one-row PATCH of that signal as the baseline of any write on this machine;
- before: the old publishing statement (one row per active user at or above the tier,
  one INSERT ... SELECT) into an old-shaped scratch table (the old notifications table's
  columns, indexes and foreign keys; emptied before each run, so it only flatters the old
  statement), once per tier.
At 1M users: rows written per published signal (pg_stat_user_tables.n_tup_ins before and
after), and the feed reads at one connection with wrk (first page, a later page,
unread=true, unread-count) for the oldest account of each tier. Draws
bench/plots/feed_publish.png.

    flock /tmp/alpine-bench.lock uv run python -m bench.feed
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import matplotlib

from alpine_api.tokens import TokenService
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
    table,
    write_results,
    wrk,
)

matplotlib.use("Agg")
from matplotlib import pyplot as plt

STEPS = ((100_000, 500_000), (300_000, 1_000_000), (1_000_000, 3_500_000))  # users, +notes
SIGNALS = 10_000
TIERS = ("starter", "pro", "elite")
PLOT = Path(__file__).resolve().parent / "plots" / "feed_publish.png"
OLD_TABLE = """
CREATE TABLE IF NOT EXISTS old_notifications (
    LIKE notifications INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES,
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    FOREIGN KEY (signal_id) REFERENCES signals (id) ON DELETE SET NULL
)
"""
# sql/signals/notify_subscribers.sql as it was, aimed at the scratch table.
OLD_FAN_OUT = """
INSERT INTO old_notifications (id, user_id, kind, title, body, signal_id)
SELECT nextval('notifications_id_seq'), id, 'signal', %(title)s, %(body)s, %(signal)s
FROM users
WHERE is_active
  AND tier >= %(tier)s::tier
ORDER BY id
"""
SIGNAL = {
    "symbol": "BENCH",
    "direction": "long",
    "entry_price": 10.0,
    "target_price": 12.0,
    "stop_loss": 9.0,
    "confidence": 0.8,
    "note": "bench",
}


def grow(st: Stack, users: int, notifications: int, signals_wanted: int) -> None:
    """Seed up to `users` users (reusing what an earlier run left)."""
    with admin_connection(st) as conn:
        have, signals = conn.execute(
            "SELECT (SELECT count(*) FROM users WHERE NOT is_admin), (SELECT count(*) FROM signals)"
        ).fetchone() or (0, 0)
    if have >= users:
        return
    command = [sys.executable, "-m", "alpine_api.cli", "seed", "--users", str(users - have)]
    command += ["--signals", str(max(0, signals_wanted - signals))]
    command += ["--notifications", str(notifications)]
    subprocess.run(command, env=st.env(), check=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def write_times(
    base: str, admin: dict[str, str], tier: str, count: int
) -> tuple[list[float], list[float]]:
    """Milliseconds per POST /api/signals of `tier`, one after the other, and, interleaved
    with them, per PATCH of one signal's confidence: a one-row write through the same
    stack (token check, rate limit, one UPDATE and its commit, cache invalidation), the
    baseline that shows what this shared machine does to any write."""
    publishes: list[float] = []
    patches: list[float] = []
    with httpx.Client(base_url=base, headers=admin, timeout=600) as http:
        for i in range(count):
            started = time.perf_counter()
            response = http.post("/api/signals", json={**SIGNAL, "tier": tier})
            publishes.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.text
            started = time.perf_counter()
            patched = http.patch(
                f"/api/signals/{response.json()['id']}", json={"confidence": 0.5 + i % 2 / 10}
            )
            patches.append((time.perf_counter() - started) * 1000)
            assert patched.status_code == 200, patched.text
    return publishes, patches


def old_publish_ms(st: Stack, tier: str) -> tuple[float, int]:
    """The old statement once, into the emptied scratch table: (ms, rows written)."""
    with admin_connection(st) as conn:
        conn.execute(OLD_TABLE)
        conn.execute("TRUNCATE old_notifications")
        signal = conn.execute("SELECT max(id) FROM signals").fetchone()[0]  # type: ignore[index]
        args = {"tier": tier, "signal": signal, "title": "New signal", "body": "Body"}
        started = time.perf_counter()
        rows = conn.execute(OLD_FAN_OUT, args).rowcount
        elapsed = (time.perf_counter() - started) * 1000
        conn.execute("TRUNCATE old_notifications")
    return elapsed, rows


def inserted_rows(st: Stack) -> dict[str, int]:
    with admin_connection(st) as conn:
        return dict(conn.execute("SELECT relname, n_tup_ins FROM pg_stat_user_tables").fetchall())


def rows_per_publish(st: Stack, base: str, admin: dict[str, str]) -> dict[str, dict[str, float]]:
    """Rows inserted per published signal, by table, from the statistics counters
    (waiting out the backends' statistics flush interval around the publishes)."""
    result: dict[str, dict[str, float]] = {}
    for tier in TIERS:
        time.sleep(11)
        before = inserted_rows(st)
        write_times(base, admin, tier, 10)
        time.sleep(11)
        after = inserted_rows(st)
        grown = {t: after[t] - before.get(t, 0) for t in after}
        result[tier] = {t: n / 10 for t, n in grown.items() if n}
    return result


def feed_reads(st: Stack, base: str, seconds: int, rounds: int) -> list[WrkResult]:
    """wrk at one connection on the feed of the oldest account of each tier: medians of
    `rounds` interleaved rounds (the first round also warms every worker's connections)."""
    service = TokenService(JWT_SECRET, 86400)
    scenarios: list[tuple[str, str, dict[str, str]]] = []
    with admin_connection(st) as conn:
        owners = conn.execute(
            "SELECT DISTINCT ON (tier) id, tier::text FROM users"
            " WHERE is_active AND NOT is_admin ORDER BY tier, created_at"
        ).fetchall()
    for user_id, tier in owners:
        headers = {"Authorization": f"Bearer {service.issue(user_id)[0]}"}
        cursor = None
        with httpx.Client(base_url=base, headers=headers) as http:
            for _ in range(4):  # the 5th page of 20
                params = {"limit": 20} | ({"cursor": cursor} if cursor else {})
                cursor = http.get("/api/notifications", params=params).json()["next_cursor"]
        paths = {
            "first page": "/api/notifications?limit=20",
            "5th page": f"/api/notifications?limit=20&cursor={cursor}",
            "unread=true": "/api/notifications?unread=true&limit=20",
            "unread-count": "/api/notifications/unread-count",
        }
        scenarios += [(f"{tier} (oldest account): {n}", p, headers) for n, p in paths.items()]
    runs: dict[str, list[WrkResult]] = {}
    for _ in range(rounds):
        for label, path, headers in scenarios:
            result = wrk(label, base + path, headers=headers, connections=1, seconds=seconds)
            runs.setdefault(label, []).append(result)
    return [median_of(r) for r in runs.values()]


def plot(points: dict[str, list[tuple[int, float]]]) -> None:
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, series in points.items():
        xs, ys = zip(*series, strict=True)
        style = "--o" if label.startswith("before") else ":" if "PATCH" in label else "-s"
        ax.plot(xs, ys, style, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("users")
    ax.set_ylabel("publish time, ms (log)")
    ax.set_title("POST /api/signals: one row per user (before) vs tier channels (after)")
    ax.axhline(50, color="grey", linewidth=0.8, linestyle=":")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def publish_step(
    st: Stack,
    base: str,
    admin: dict[str, str],
    users: int,
    count: int,
    points: dict[str, list[tuple[int, float]]],
) -> list[str]:
    """One user count: every tier through the service (after a CHECKPOINT, so no earlier
    bulk write is still being flushed), then the old statement per tier."""
    with admin_connection(st) as conn:
        conn.execute("CHECKPOINT")
    after = {tier: write_times(base, admin, tier, count) for tier in TIERS}
    lines = []
    for tier, (publishes, patches) in after.items():
        old_ms, rows = old_publish_ms(st, tier)
        p50, p99 = statistics.median(publishes), percentile(publishes, 0.99)
        points.setdefault(f"before: {tier}", []).append((users, old_ms))
        points.setdefault(f"after: {tier}, p99", []).append((users, p99))
        baseline = f"{statistics.median(patches):.1f} / {percentile(patches, 0.99):.1f} ms"
        cells = [f"{users:,}", tier, f"{old_ms:,.0f} ms ({rows:,} rows)", f"{p50:.1f} ms"]
        cells += [f"{p99:.1f} ms", baseline, f"{old_ms / p50:,.0f}x"]
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    patches = [t for _, patch_times in after.values() for t in patch_times]
    points.setdefault("one-row PATCH, p99", []).append((users, percentile(patches, 0.99)))
    return lines


def run(args: argparse.Namespace) -> str:
    points: dict[str, list[tuple[int, float]]] = {}
    lines = [
        "| users | tier | before (one statement) | after p50 | after p99 |"
        " one-row PATCH p50 / p99 | before / after p50 |"
    ]
    lines.append("|---:|---|---:|---:|---:|---:|---:|")
    env = dict(NO_LIMITS)
    with stack(args.data_dir) as st:
        steps = [(int(u * args.scale), int(n * args.scale)) for u, n in STEPS]
        for users, notifications in steps:
            grow(st, users, notifications, int(SIGNALS * args.scale))
            with admin_connection(st) as conn:
                admin_id = conn.execute(
                    "INSERT INTO users (email, password_hash, is_admin) VALUES"
                    " ('bench-admin@example.org', 'x', true) ON CONFLICT (email)"
                    " DO UPDATE SET is_admin = true RETURNING id"
                ).fetchone()[0]  # type: ignore[index]
            token = TokenService(JWT_SECRET, 86400).issue(admin_id)[0]
            admin = {"Authorization": f"Bearer {token}"}
            with server(st, **env) as base:
                lines += publish_step(st, base, admin, users, args.publishes, points)
                if users == steps[-1][0]:
                    written = rows_per_publish(st, base, admin)
                    reads = feed_reads(st, base, args.seconds, args.rounds)
    plot(points)
    written_lines = [
        f"| {tier} | " + ", ".join(f"{t} {n:g}" for t, n in sorted(w.items())) + " |"
        for tier, w in written.items()
    ]
    return (
        f"Machine: {machine()}\n\nCommand: `flock /tmp/alpine-bench.lock uv run python -m"
        f" bench.feed --publishes {args.publishes} --seconds {args.seconds} --rounds {args.rounds}"
        f" --scale {args.scale:g}`\n\n"
        + "\n".join(lines)
        + "\n\nRows inserted per published signal (n_tup_ins, 10 per tier, 1M users):\n\n"
        "| tier | rows per signal, by table |\n|---|---|\n"
        + "\n".join(written_lines)
        + f"\n\nFeed reads at one connection (wrk -t1 -c1, median of {args.rounds} rounds):\n\n"
        + table(reads)
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.feed")
    parser.add_argument("--publishes", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="data size factor (smoke runs)")
    parser.add_argument("--data-dir", type=Path, default=Path("/var/tmp/alpine-bench-feed"))
    args = parser.parse_args()
    markdown = run(args)
    print(markdown)
    write_results("feed", {"machine": machine()}, markdown)


if __name__ == "__main__":
    main()
