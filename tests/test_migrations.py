"""`alpine-api migrate` against real PostgreSQL: list, rollback, re-apply, concurrency,
and the INVALID index a failed concurrent build leaves behind."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from alpine_api.resources import MIGRATIONS_DIR
from tests.support import Servers, clean_env

CONTRACT_INDEXES = (
    "idx_signal_active_confidence_created",
    "idx_signal_symbol_created",
    "idx_user_tier_active",
    "idx_notif_user_read_created",
)
MIGRATION_IDS = sorted(
    p.stem for p in MIGRATIONS_DIR.glob("*.sql") if not p.name.endswith(".rollback.sql")
)

VALID_INDEX_SQL = """
SELECT c.relname, i.indisvalid
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relname = ANY(%s)
"""


def migrate(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alpine_api.cli", "migrate", *args],
        env=clean_env(ALPINE_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def index_validity(url: str, names: list[str]) -> dict[str, bool]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute(VALID_INDEX_SQL, (names,)).fetchall())  # type: ignore[arg-type]


def created_index(migration: Path) -> str:
    match = re.search(r"CREATE (?:UNIQUE )?INDEX CONCURRENTLY (\w+)", migration.read_text())
    assert match, f"{migration.name} creates no index"
    return match.group(1)


@pytest.fixture
def empty_database(servers: Servers) -> Iterator[str]:
    """A database with no schema at all (not cloned from the migrated template)."""
    name = f"e_{secrets.token_hex(6)}"
    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield f"{servers.admin_url.rpartition('/')[0]}/{name}"
    with psycopg.connect(servers.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_list_shows_every_migration_applied(database_url: str) -> None:
    result = migrate(database_url, "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"[x] {m}" for m in MIGRATION_IDS]


def test_list_on_an_empty_database_shows_every_migration_pending(empty_database: str) -> None:
    result = migrate(empty_database, "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"[ ] {m}" for m in MIGRATION_IDS]


def test_contract_indexes_exist_and_are_valid(database_url: str) -> None:
    assert index_validity(database_url, list(CONTRACT_INDEXES)) == dict.fromkeys(
        CONTRACT_INDEXES, True
    )


def test_rollback_of_the_last_index_migration_and_reapply(database_url: str) -> None:
    last = [m for m in MIGRATION_IDS if "_idx_" in m][-1]
    undone = MIGRATION_IDS[MIGRATION_IDS.index(last) :]  # it and what came after it
    index = created_index(MIGRATIONS_DIR / f"{last}.sql")
    assert index_validity(database_url, [index]) == {index: True}

    result = migrate(database_url, "rollback", "--count", str(len(undone)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"rolled back {m}" for m in reversed(undone)]
    assert index_validity(database_url, [index]) == {}
    listed = migrate(database_url, "list").stdout.splitlines()
    assert listed[-len(undone) :] == [f"[ ] {m}" for m in undone]
    assert all(line.startswith("[x]") for line in listed[: -len(undone)])

    result = migrate(database_url, "apply")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"applied {m}" for m in undone]
    assert index_validity(database_url, [index]) == {index: True}
    assert migrate(database_url, "apply").stdout.strip() == "nothing to apply"


def test_two_applies_at_once_apply_everything_once(empty_database: str) -> None:
    command = [sys.executable, "-m", "alpine_api.cli", "migrate", "apply"]
    env = clean_env(ALPINE_DATABASE_URL=empty_database)
    runs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (_out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    applied = [
        line.removeprefix("applied ")
        for out, _err in outputs
        for line in out.splitlines()
        if line.startswith("applied ")
    ]
    assert sorted(applied) == MIGRATION_IDS  # each migration applied by exactly one run
    with psycopg.connect(empty_database) as conn:
        rows = conn.execute(
            "SELECT migration_id, count(*) FROM _yoyo_migration GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == [(m, 1) for m in MIGRATION_IDS]
    assert index_validity(empty_database, list(CONTRACT_INDEXES)) == dict.fromkeys(
        CONTRACT_INDEXES, True
    )


def test_an_invalid_index_is_reported_by_apply_and_list(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(2):
            conn.execute(
                "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
                " confidence) VALUES ('DUP', 'long', 1, 2, 0.5, 0.5)"
            )
        # A concurrent unique build over duplicates fails and leaves the index INVALID.
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY idx_broken ON signals (symbol)")
    assert index_validity(database_url, ["idx_broken"]) == {"idx_broken": False}

    for action in ("apply", "list"):
        result = migrate(database_url, action)
        assert result.returncode == 1, (action, result.stderr)
        assert "idx_broken" in result.stderr
        assert "INVALID" in result.stderr
        assert "Traceback" not in result.stderr

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP INDEX CONCURRENTLY idx_broken")
    assert migrate(database_url, "apply").returncode == 0
    assert migrate(database_url, "list").returncode == 0


def test_unreachable_database_is_one_line_and_a_nonzero_exit(servers: Servers) -> None:
    with psycopg.connect(servers.admin_url) as conn:
        port = conn.info.port
    closed = servers.admin_url.replace(f":{port}/", ":1/")
    result = migrate(closed, "list")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "database unreachable" in result.stderr
    password = urlsplit(servers.admin_url).password
    assert password
    assert password not in result.stderr
