"""Login throughput, and whether password hashing stalls other requests.

`GET /api/auth/me` is measured with wrk twice in one run: idle, then while 20 clients
log in back to back (argon2id verification runs in a thread, off the event loop).
The interesting figure is the ratio of the two p99s (target: at most 3x).

    uv run python -m bench.login_load [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time

import httpx
from argon2 import PasswordHasher

from alpine_api.tokens import TokenService
from bench.harness import (
    JWT_SECRET,
    NO_LIMITS,
    admin_connection,
    machine,
    server,
    stack,
    table,
    write_results,
    wrk,
)

PASSWORD = "bench password 1"  # noqa: S105 - a throwaway benchmark account
LOGINS = 20


async def _login_loop(base: str, deadline: float, done: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        body = {"email": "login@example.com", "password": PASSWORD}
        while time.monotonic() < deadline:
            response = await http.post("/api/auth/login", json=body)
            assert response.status_code == 200, response.text
            done.append(1)


def _logins(base: str, seconds: float, done: list[int]) -> None:
    async def run() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_login_loop(base, deadline, done) for _ in range(LOGINS)))

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    with stack() as st:
        with admin_connection(st) as conn:
            user_id = conn.execute(
                "INSERT INTO users (email, password_hash)"
                " VALUES ('login@example.com', %s) RETURNING id",
                (PasswordHasher().hash(PASSWORD),),
            ).fetchone()[0]  # type: ignore[index]
        auth = {"Authorization": f"Bearer {TokenService(JWT_SECRET, 86400).issue(user_id)[0]}"}
        with server(st, **NO_LIMITS) as base:
            wrk("warm-up", f"{base}/api/auth/me", headers=auth, seconds=2)
            alone: list[int] = []
            _logins(base, args.seconds, alone)  # logins with the CPU to themselves
            idle = wrk("/me idle", f"{base}/api/auth/me", headers=auth, seconds=args.seconds)
            done: list[int] = []
            logins = threading.Thread(target=_logins, args=(base, args.seconds + 1, done))
            logins.start()
            time.sleep(0.5)
            loaded = wrk(
                f"/me during {LOGINS} concurrent logins",
                f"{base}/api/auth/me",
                headers=auth,
                seconds=args.seconds,
            )
            logins.join()
    login_rate = len(done) / (args.seconds + 1)
    alone_rate = len(alone) / args.seconds
    summary = (
        f"logins: {alone_rate:.1f}/s with {LOGINS} concurrent clients alone, "
        f"{login_rate:.1f}/s while wrk saturates /me; "
        f"/me p99 under login load = {loaded.p99_ms / idle.p99_ms:.2f}x idle"
    )
    markdown = (
        f"Machine: {machine()}\n\nCommand: "
        f"`uv run python -m bench.login_load --seconds {args.seconds}`"
        " (wrk -t1 -c32, serve --workers 2)\n\n"
        f"{table([idle, loaded], idle)}\n\n{summary}\n"
    )
    print(markdown)
    write_results(
        "login_load",
        {
            "machine": machine(),
            "idle": idle,
            "loaded": loaded,
            "logins_per_second_alone": alone_rate,
            "logins_per_second_under_load": login_rate,
        },
        markdown,
    )


if __name__ == "__main__":
    main()
