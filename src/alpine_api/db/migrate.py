"""Schema migrations with yoyo (files under migrations/).

Every command holds yoyo's lock (a row in `yoyo_lock`), so two runs at once take turns:
the second finds nothing left to apply. Index migrations build CONCURRENTLY outside a
transaction; a build that fails half-way leaves an INVALID index behind, so every
command ends by listing invalid indexes and `apply` fails when one exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
import psycopg
from yoyo import get_backend, read_migrations
from yoyo.backends.base import DatabaseBackend
from yoyo.migrations import MigrationList

from alpine_api.config import to_migration_url
from alpine_api.resources import MIGRATIONS_DIR

LOCK_TIMEOUT_SECONDS = 900  # an index build on a large table can take minutes

INVALID_INDEXES_SQL = """
SELECT c.relname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND n.nspname = current_schema()
ORDER BY c.relname
"""


class MigrationStatus(msgspec.Struct, frozen=True):
    id: str
    applied: bool


class InvalidIndexError(RuntimeError):
    """An index build failed and left an INVALID index."""


@contextmanager
def _locked(database_url: str) -> Iterator[tuple[DatabaseBackend, MigrationList]]:
    backend = get_backend(to_migration_url(database_url))
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock(timeout=LOCK_TIMEOUT_SECONDS):
            yield backend, migrations
    finally:
        backend.connection.close()


def invalid_indexes(database_url: str) -> list[str]:
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        return [row[0] for row in conn.execute(INVALID_INDEXES_SQL)]


def _ensure_no_invalid_indexes(database_url: str) -> None:
    if invalid := invalid_indexes(database_url):
        names = ", ".join(invalid)
        raise InvalidIndexError(
            f"INVALID index(es) left by a failed concurrent build: {names}. "
            "Drop them (DROP INDEX CONCURRENTLY name), roll the migration back, apply again."
        )


def apply(database_url: str) -> list[str]:
    """Apply every pending migration; return the ids applied."""
    with _locked(database_url) as (backend, migrations):
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    _ensure_no_invalid_indexes(database_url)
    return [m.id for m in pending]


def rollback(database_url: str, count: int = 1) -> list[str]:
    """Roll back the `count` most recently applied migrations; return their ids."""
    with _locked(database_url) as (backend, migrations):
        targets = backend.to_rollback(migrations)[:count]
        backend.rollback_migrations(targets)
    return [m.id for m in targets]


def status(database_url: str) -> list[MigrationStatus]:
    with _locked(database_url) as (backend, migrations):
        return [MigrationStatus(id=m.id, applied=backend.is_applied(m)) for m in migrations]
