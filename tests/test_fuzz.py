"""Schemathesis against the service's own OpenAPI document: every operation, as an admin
with a real token (so admin routes are exercised too), on `serve` with real servers.

All of schemathesis's phases run (examples, coverage, fuzzing, stateful) with a bounded
example count, and every check but the ones listed in EXCLUDED_CHECKS, among them
not_a_server_error (no 5xx), response_schema_conformance, status_code_conformance,
content_type_conformance, response_headers_conformance, ignored_auth, use_after_free.

A longer run is the same test with more examples, e.g.
    ALPINE_FUZZ_EXAMPLES=300 uv run pytest tests/test_fuzz.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import asyncpg

from tests.support import NO_LIMITS, token_for

EXAMPLES = int(os.environ.get("ALPINE_FUZZ_EXAMPLES", "10"))
# The fuzzing admin's id: far from the small ids and boundary values schemathesis tries, so
# random PATCH /api/admin/users/{id} calls rarely touch the caller. The stateful phase may
# still carry its id over from /me, promote another user and then demote the caller (the
# API refuses only a change that would leave no active admin).
ADMIN_ID = 987_654_321
LOGOUT = "/api/auth/logout"
EXCLUDED_CHECKS = {
    # Cursors are opaque: a string the schema allows is still not a cursor (400), and
    # random ids are 404; "valid per schema" cannot mean "accepted" for them.
    "positive_data_acceptance": "opaque cursors",
    # Litestar converts leniently: 0/1 in a body are taken for false/true, and `null` in
    # an optional query parameter (`?tier=null`) for an absent one.
    "negative_data_rejection": "lenient conversion",
    # GET /api/signals/{id} is the subscriber's view (active, at or below the caller's
    # tier): a signal an admin just created above their own tier is, rightly, a 404.
    "ensure_resource_availability": "tier-scoped reads",
}


def schemathesis(
    workdir: Path, url: str, token: str, *args: str
) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{url}/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing,stateful",  # all of them, named so none is dropped
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--request-timeout",
        "10",
        "--no-shrink",
        "--warnings",
        "off",
        *args,
    ]
    # Run in `workdir`: schemathesis keeps a `.schemathesis` example database in its cwd.
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=600, check=False
    )


async def test_no_5xx_and_no_schema_violation_on_any_operation(
    serve, db: asyncpg.Connection, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    await db.execute(
        "INSERT INTO users (id, email, password_hash, is_admin) OVERRIDING SYSTEM VALUE"
        " VALUES ($1, 'fuzz-admin@example.com', 'not a hash', true)",
        ADMIN_ID,
    )
    other = await db.fetchval(
        "INSERT INTO users (email, password_hash) VALUES ('fuzz-user@example.com', 'x')"
        " RETURNING id"
    )
    server = serve(workers=2, **NO_LIMITS)

    # Everything but logout (it would revoke the token the run depends on) ...
    run = schemathesis(tmp_path, server.url, token_for(ADMIN_ID), "--exclude-path", LOGOUT)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    selected, total = map(int, re.search(r"Selected: (\d+)/(\d+)", run.stdout).groups())  # type: ignore[union-attr]
    tested = int(re.search(r"Tested: (\d+)", run.stdout).group(1))  # type: ignore[union-attr]
    assert tested == selected == total - 1 >= 20
    # The stateful phase ran and chained operations over the links it inferred from the
    # document (create a signal, then read and patch it; register, then log in ...).
    assert re.search(r"✅ Stateful", run.stdout), run.stdout[-3000:]
    # How many links a run happens to follow is random (0 to 5 of 14 seen): the links must
    # be there, and the phase must have run its scenarios over them.
    links = int(re.search(r"API Links:\s+\d+ covered / (\d+)", run.stdout).group(1))  # type: ignore[union-attr]
    scenarios = int(re.search(r"Scenarios:\s+(\d+)", run.stdout).group(1))  # type: ignore[union-attr]
    assert links >= 10 and scenarios >= 5, run.stdout[-3000:]
    # ... and logout on a token of its own.
    run = schemathesis(tmp_path, server.url, token_for(other), "--include-path", LOGOUT)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]

    logs = server.logs()
    assert "unhandled" not in logs and " 500 " not in logs, logs[-4000:]
    # The token reached the admin routes.
    assert "GET /api/admin/analytics 200" in logs
    # However the run promoted, demoted and deactivated users, an active admin remains.
    assert await db.fetchval("SELECT count(*) FROM users WHERE is_admin AND is_active") >= 1
    assert "POST /api/signals 201" in logs
