"""bench/probe.py against a real `serve`: every hostile-input probe passes, and a probe
fails when it sees what it looks for (a NUL byte in the log)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

from tests.support import DEFAULT_PASSWORD, JWT_SECRET, insert_user

ITEMS = [
    "1 disconnect",
    "3 repeated query",
    "4 unknown query",
    "6 deactivation",
    "7 int64 sub",
    "8 log control chars",
    "9 email register",
    "9 email login",
]


def probe(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPINE_")}
    env["ALPINE_PROBE_ADMIN_PASSWORD"] = DEFAULT_PASSWORD
    return subprocess.run(
        [sys.executable, "-m", "bench.probe", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def states(output: str) -> dict[str, str]:
    rows = [line.split(None, 1) for line in output.splitlines() if line.startswith("  ")]
    return {rest[:19].strip(): state for state, rest in rows}


async def test_every_probe_passes_and_a_bad_log_fails(
    serve: Any, db: asyncpg.Connection, tmp_path: Path
) -> None:
    await insert_user(db, "admin@example.com", is_admin=True)
    await insert_user(db, "user@example.com")
    server = serve(workers=2, ALPINE_LOG_FORMAT="text")
    admin = ["--admin-email", "admin@example.com", "--jwt-secret", JWT_SECRET]
    user = ["--email", "user@example.com", "--password", DEFAULT_PASSWORD]
    result = probe(server.url, *admin, *user, "--log", str(server.log_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert states(result.stdout) == dict.fromkeys(ITEMS, "PASS"), result.stdout
    assert DEFAULT_PASSWORD not in result.stdout + result.stderr

    bad_log = tmp_path / "forged.log"
    bad_log.write_bytes(b"12:00:00 INFO    alpine_api.access: GET /api/x\x00 404\n")
    result = probe(server.url, "--log", str(bad_log))
    assert result.returncode == 1, result.stdout
    found = states(result.stdout)
    assert found.pop("8 log control chars") == "FAIL"
    assert "NUL byte" in result.stdout
    assert set(found.values()) == {"PASS", "SKIP"}  # SKIP: no credentials, no secret
