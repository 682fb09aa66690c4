"""Index migrations while `serve --workers 2` answers the load mix: every index migration
is rolled back (DROP INDEX CONCURRENTLY; only those, whatever other migrations follow
them) and applied again by `alpine-api migrate apply` (CREATE INDEX CONCURRENTLY), and no
request fails, waits long, or loses an acknowledged write.

That a failed concurrent build (an INVALID index) is detected and reported by
`alpine-api migrate` is tested in tests/test_migrations.py
(test_an_invalid_index_is_reported_by_apply_and_list).
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
from yoyo import get_backend, read_migrations

from alpine_api.config import to_migration_url
from alpine_api.resources import MIGRATIONS_DIR
from bench.load_mix import LoadMix, verify
from tests.test_faults import LOAD_ENV, arrange, describe, report
from tests.test_migrations import created_index, index_validity, migrate

INDEX_MIGRATIONS = sorted(
    p
    for p in MIGRATIONS_DIR.glob("*.sql")
    if not p.name.endswith(".rollback.sql") and "INDEX CONCURRENTLY" in p.read_text()
)
SEED_SIGNALS = 50_000


def roll_back_index_migrations(database_url: str) -> list[str]:
    """Roll back exactly the index migrations (yoyo takes any subset, newest first)."""
    ids = {p.stem for p in INDEX_MIGRATIONS}
    backend = get_backend(to_migration_url(database_url))
    try:
        targets = read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: m.id in ids)
        with backend.lock():
            backend.rollback_migrations(targets)
        return [m.id for m in targets]
    finally:
        backend.connection.close()


async def test_indexes_dropped_and_rebuilt_under_load_without_errors(
    serve, database_url: str, db: asyncpg.Connection
) -> None:  # type: ignore[no-untyped-def]
    await db.execute(
        "INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss,"
        " confidence, tier, is_active, created_at)"
        " SELECT 'S' || (i % 200), 'long', 10, 12, 9, (i % 100) / 100.0,"
        " (ARRAY['starter', 'pro', 'elite'])[1 + i % 3]::tier, i % 4 <> 0,"
        " now() - i * interval '1 minute' FROM generate_series(1, $1) AS i",
        SEED_SIGNALS,
    )
    indexes = [created_index(p) for p in INDEX_MIGRATIONS]
    assert len(indexes) >= 4
    tokens, admin = await arrange(database_url)
    server = serve(workers=2, **LOAD_ENV)
    load = LoadMix(server.url, tokens, admin)
    running = asyncio.create_task(load.run())
    await asyncio.sleep(1.0)

    started = time.monotonic()
    rolled_back = await asyncio.to_thread(roll_back_index_migrations, database_url)
    dropped = index_validity(database_url, indexes)
    await asyncio.sleep(1.0)  # the service runs on sequential scans for a while
    apply = await asyncio.to_thread(migrate, database_url, "apply")
    finished = time.monotonic()
    await asyncio.sleep(1.0)
    load.stop()
    ledger = await running

    assert sorted(rolled_back) == [p.stem for p in INDEX_MIGRATIONS]
    assert dropped == {}
    assert apply.returncode == 0, apply.stderr
    assert apply.stdout.splitlines() == [f"applied {p.stem}" for p in INDEX_MIGRATIONS]
    assert index_validity(database_url, indexes) == dict.fromkeys(indexes, True)

    during = ledger.between(started, finished)
    assert len(during) > 50, describe(ledger)
    # 409: subscribing to the tier already active, the load's own doing.
    assert set(ledger.statuses()) <= {200, 201, 409}, describe(ledger)
    assert not ledger.transport_errors, describe(ledger)
    assert max(a.seconds for a in during) < 2.0
    integrity = await verify(database_url, ledger)
    assert integrity.missing == []
    assert integrity.checked > 20
    report(f"{len(indexes)} indexes dropped and rebuilt", ledger, during, integrity.checked)
