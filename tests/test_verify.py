"""`alpine-api verify URL` against a running `serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import asyncpg
import pytest

from alpine_api.embedded import free_port
from alpine_api.probes import Prober
from alpine_api.verify import Skipped
from tests.support import DEFAULT_PASSWORD, insert_user
from tests.test_probe import ITEMS


def verify(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPINE_")}
    if password is not None:
        env["ALPINE_VERIFY_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "alpine_api.cli", "verify", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def states(output: str) -> dict[str, str]:
    """`{check name: PASS|FAIL|SKIP}` from the report."""
    rows = [line.split(None, 1) for line in output.splitlines() if line.startswith("  ")]
    return {rest[:19].strip(): state for state, rest in rows}


async def test_every_check_passes_on_a_healthy_deployment(
    serve: Any, db: asyncpg.Connection
) -> None:
    await insert_user(db, "verify@example.com")
    server = serve(workers=2)
    result = verify(server.url, "--email", "verify@example.com", password=DEFAULT_PASSWORD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert states(result.stdout) == {
        "liveness": "PASS",
        "readiness": "PASS",
        "request id": "PASS",
        "metrics": "PASS",
        "cors": "PASS",
        "compression": "PASS",
        "rate-limit headers": "PASS",
        "cache headers": "PASS",
        "disconnect mid-body": "PASS",
        "query: repeated": "PASS",
        "query: unknown": "PASS",
        "log control chars": "PASS",
        "email NFKC login": "PASS",
    }, result.stdout
    assert "then HIT" in result.stdout
    assert DEFAULT_PASSWORD not in result.stdout + result.stderr


async def test_failures_exit_1_and_say_what_failed(serve: Any) -> None:
    server = serve(workers=1)
    result = verify(server.url, "--origin", "https://not-configured.example")
    assert result.returncode == 1, result.stdout
    found = states(result.stdout)
    assert found["cors"] == "FAIL"
    assert found["cache headers"] == "SKIP"
    assert found["liveness"] == "PASS"
    assert "FAILED: 1 of 13 checks failed" in result.stdout


def test_unreachable_deployment_fails_every_check() -> None:
    result = verify(f"http://127.0.0.1:{free_port()}", "--token", "x")
    assert result.returncode == 1
    found = states(result.stdout)
    assert found.pop("email NFKC login") == "SKIP"  # needs --email and --password
    assert set(found.values()) == {"FAIL"}


def test_checks_are_named_where_defined_and_skipped_without_their_options() -> None:
    # Nothing is sent: every check called below is skipped first.
    prober = Prober("http://127.0.0.1:9", origin="http://localhost:3000")
    assert [name for name, _ in prober.checks()] == [
        "liveness",
        "readiness",
        "request id",
        "metrics",
        "cors",
        "compression",
        "rate-limit headers",
        "cache headers",
        "disconnect mid-body",
        "query: repeated",
        "query: unknown",
        "log control chars",
        "email NFKC login",
    ]
    hostile = dict(prober.hostile_checks())
    assert list(hostile) == ITEMS  # RELIABILITY.md's order
    for label, skipped in [
        ("6 deactivation", "no --admin-email/--admin-password given"),
        ("7 int64 sub", "no --jwt-secret given"),
        ("9 email login", "no --email/--password given"),
    ]:
        with pytest.raises(Skipped, match=skipped):
            hostile[label]()
