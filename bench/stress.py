"""Stress run: the load mix for a few minutes against `serve --workers 2` on a real stack,
with Valkey and PostgreSQL crashes injected, then a data-integrity check.

Faults alternate every `--fault-every` seconds: Valkey killed (SIGKILL) and restarted
empty, then PostgreSQL crashed (SIGQUIT: immediate shutdown, no checkpoint; the bench
server keeps fsync and synchronous_commit on, so committed means durable) and restarted.
Each stays down `--down` seconds. At the end it prints requests served, answers by
status (overall and while a server was down), the slowest answers, how long /health
took to be healthy again after each fault, and whether every acknowledged write
(subscribe, signal create and patch, profile rename) is in the database.

    uv run python -m bench.stress [--minutes 3] [--users 12]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import httpx

from alpine_api.tokens import TokenService
from bench.harness import (
    JWT_SECRET,
    NO_LIMITS,
    Stack,
    admin_connection,
    machine,
    server,
    stack,
    write_results,
)
from bench.load_mix import Ledger, LoadMix, verify

PASSWORD_HASH = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$not-a-real-hash"  # noqa: S105 - never logs in


@dataclass
class Fault:
    server: str
    down_at: float
    up_at: float
    healthy_after: float | None  # seconds from restart until /health said healthy


def arrange(st: Stack, users: int) -> tuple[dict[int, str], str]:
    tokens = TokenService(JWT_SECRET, 86400)
    with admin_connection(st) as conn:
        ids = [
            conn.execute(
                "INSERT INTO users (email, password_hash, is_admin) VALUES (%s, %s, %s)"
                " RETURNING id",
                (f"stress{i}@example.com", PASSWORD_HASH, i == 0),
            ).fetchone()[0]  # type: ignore[index]
            for i in range(users + 1)
        ]
    admin, rest = ids[0], ids[1:]
    return {uid: tokens.issue(uid)[0] for uid in rest}, tokens.issue(admin)[0]


async def healthy_within(base: str, limit: float) -> float | None:
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() - started < limit:
            try:
                if (await http.get(f"{base}/health")).json().get("status") == "healthy":
                    return time.monotonic() - started
            except (httpx.HTTPError, ValueError):
                pass
            await asyncio.sleep(0.1)
    return None


async def inject(st: Stack, base: str, seconds: float, every: float, down: float) -> list[Fault]:
    faults: list[Fault] = []
    deadline = time.monotonic() + seconds
    which = 0
    while time.monotonic() + every < deadline:
        await asyncio.sleep(every - down)
        name = ("valkey", "postgres")[which % 2]
        which += 1
        down_at = time.monotonic()
        if name == "valkey":
            assert st.valkey.proc is not None
            st.valkey.proc.kill()
            st.valkey.proc.wait()
            st.valkey.proc = None
        else:
            st.postgres.kill()
        await asyncio.sleep(down)
        if name == "valkey":
            await asyncio.to_thread(st.valkey.start, "--maxmemory", "2gb")
        else:
            await asyncio.to_thread(st.postgres.start)
        up_at = time.monotonic()
        faults.append(Fault(name, down_at, up_at, await healthy_within(base, 30)))
        print(
            f"  {name} down {up_at - down_at:.1f} s, healthy again after "
            f"{faults[-1].healthy_after}",
            flush=True,
        )
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
    return faults


def report(
    ledger: Ledger, faults: list[Fault], seconds: float, missing: list[str], checked: int
) -> str:
    during = [a for f in faults for a in ledger.between(f.down_at, f.up_at)]
    outside = [a for a in ledger.answers if a not in during]
    slowest = sorted(ledger.answers, key=lambda a: -a.seconds)[:5]
    by_server = Counter(f.server for f in faults)
    recoveries = [
        f"{f.server} {f.healthy_after:.2f} s"
        if f.healthy_after is not None
        else f"{f.server} NOT RECOVERED"
        for f in faults
    ]
    lines = [
        f"Machine: {machine()}",
        f"Duration: {seconds:.0f} s, users: {len(ledger.names)} + 1 admin, serve --workers 2",
        f"Faults injected: {dict(by_server)} (each down for the --down seconds)",
        f"Requests answered: {len(ledger.answers)} ({len(ledger.answers) / seconds:.0f}/s)",
        f"Answers by status, all: {dict(sorted(ledger.statuses().items()))}",
        f"Answers by status, while a server was down: "
        f"{dict(sorted(ledger.statuses(during).items()))}",
        f"Answers by status, otherwise: {dict(sorted(ledger.statuses(outside).items()))}",
        f"Transport errors (no HTTP answer): {dict(ledger.transport_errors) or 0}",
        "Slowest answers: " + ", ".join(f"{a.route} {a.status} {a.seconds:.2f} s" for a in slowest),
        "Healthy again after restart: " + ", ".join(recoveries),
        f"Acknowledged writes checked: {checked}; missing from the database: {len(missing)}",
        *[f"  MISSING {m}" for m in missing[:20]],
    ]
    return "\n".join(lines)


async def run(st: Stack, base: str, args: argparse.Namespace) -> tuple[str, bool]:
    tokens, admin = arrange(st, args.users)
    load = LoadMix(base, tokens, admin)
    seconds = args.minutes * 60
    started = time.monotonic()
    running = asyncio.create_task(load.run())
    faults = await inject(st, base, seconds, args.fault_every, args.down)
    load.stop()
    ledger = await running
    elapsed = time.monotonic() - started
    integrity = await verify(st.database_url, ledger)
    text = report(ledger, faults, elapsed, integrity.missing, integrity.checked)
    ok = (
        not integrity.missing
        and not ledger.transport_errors
        and 500 not in ledger.statuses()
        and all(f.healthy_after is not None for f in faults)
    )
    return text, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--fault-every", type=float, default=30.0)
    parser.add_argument("--down", type=float, default=5.0)
    args = parser.parse_args()
    with (
        stack() as st,
        server(st, workers=2, **NO_LIMITS) as base,
    ):
        text, ok = asyncio.run(run(st, base, args))
    command = "uv run python -m bench.stress " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
    )
    markdown = f"# Stress run\n\n`{command}`\n\n```\n{text}\n```\n"
    path = write_results("stress", {"ok": ok, "report": text, "command": command}, markdown)
    print(text)
    print(f"{'PASS' if ok else 'FAIL'}; written to {path}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
