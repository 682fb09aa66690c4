"""Helpers shared by the tests: server handles and a subprocess running `serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from argon2 import PasswordHasher

from alpine_api.embedded import EmbeddedPostgres, EmbeddedValkey, free_port
from alpine_api.tokens import TokenService

JWT_SECRET = "test-secret-" + "x" * 40
UNLIMITED = "1000000/60"  # a rate limit the tests' own load never reaches
# Every policy set to UNLIMITED: starter and anonymous, pro, elite, login and register.
NO_LIMITS = {
    f"ALPINE_{name}": UNLIMITED
    for name in ("RATE_LIMIT", "RATE_LIMIT_PRO", "RATE_LIMIT_ELITE", "AUTH_RATE_LIMIT")
}
DEFAULT_PASSWORD = "correct horse battery"
# For tests that count a burst's admissions exactly: a Redis reply slower than the usual
# 250 ms timeout (a loaded machine, hundreds of calls queued at once) must not let a
# request through uncounted (fail-open), which would be a count of the machine, not of
# the limiter.
EXACT_LIMITER = {"ALPINE_REDIS_TIMEOUT_MS": "5000", "ALPINE_RATE_LIMIT_FAIL_OPEN": "false"}
# Cheap parameters: tests create many users; the service itself uses argon2's defaults.
_test_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def insert_user(
    db: asyncpg.Connection,
    email: str,
    *,
    tier: str = "starter",
    is_admin: bool = False,
    is_active: bool = True,
    password: str = DEFAULT_PASSWORD,
    full_name: str | None = None,
) -> int:
    """Arrange a user directly in the database; returns its id."""
    user_id = await db.fetchval(
        "INSERT INTO users (email, password_hash, full_name, tier, is_admin, is_active)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        email.lower(),
        _test_hasher.hash(password),
        full_name,
        tier,
        is_admin,
        is_active,
    )
    return int(user_id)


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any ALPINE_* variable, plus `values`: for
    subprocesses that must see only the configuration a test gives them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPINE_")}
    env.update(values)
    return env


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def token_for(user_id: int, ttl_seconds: int = 3600) -> str:
    """A valid access token for `user_id`, signed with the tests' secret."""
    return TokenService(JWT_SECRET, ttl_seconds).issue(user_id)[0]


def bearer(user_id: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user_id)}"}


@dataclass
class Servers:
    admin_url: str
    redis_url: str
    postgres: EmbeddedPostgres | None
    valkey: EmbeddedValkey | None
    root: Path


class ServerProcess:
    """`alpine-api serve --workers N` on a free port, with the given environment."""

    def __init__(self, env: dict[str, str], workers: int = 2) -> None:
        self.env = {**os.environ, **env}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"alpine-serve-{self.port}.log"

    def start(self, timeout: float = 30.0) -> None:
        log = open(self.log_path, "wb")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "alpine_api.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        ready = 0
        while ready < self.workers:  # every worker has run its lifespan once it answers
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{self.logs()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"serve did not start:\n{self.logs()}")
            ready = self.logs().count("Started worker-")
            time.sleep(0.05)
        while True:
            try:
                if httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve did not answer:\n{self.logs()}")
            time.sleep(0.05)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        code = self.proc.returncode
        self.proc = None
        return code


async def pages(client: Any, path: str, headers: dict[str, str]) -> list[list[int]]:
    """Every page of a list, following next_cursor."""
    result: list[list[int]] = []
    cursor = None
    sep = "&" if "?" in path else "?"
    while True:
        url = f"{path}{sep}cursor={cursor}" if cursor else path
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        result.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return result


def require_tool(name: str) -> str:
    """The path of an outside tool a test drives (chromium, prometheus, npx). Missing: the
    test is skipped with the reason (`-ra` prints it), except in CI (`CI` set), where
    `.ci/run` installs them all and a missing one is a failure."""
    import shutil

    import pytest

    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
