"""Bulk-load mechanics of `alpine-api seed`: COPY overlapped with row generation, a
session that skips foreign-key triggers, secondary indexes rebuilt after a large load."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import asyncpg

from alpine_api.seed.rows import Row

BULK_MIN_ROWS = 100_000  # smaller loads keep the indexes in place

Report = Callable[[str, int], None]


async def copy_chunks(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    chunks: Iterator[list[Row]],
    report: Report,
) -> int:
    """COPY every chunk; the next chunk is generated in a thread during each COPY."""
    done = 0

    def next_chunk() -> list[Row] | None:
        return next(chunks, None)

    pending = asyncio.create_task(asyncio.to_thread(next_chunk))
    while (chunk := await pending) is not None:
        pending = asyncio.create_task(asyncio.to_thread(next_chunk))
        await conn.copy_records_to_table(table, records=chunk, columns=columns)
        done += len(chunk)
        report(table, len(chunk))
    return done


async def fast_session(conn: asyncpg.Connection) -> bool:
    """Skip foreign-key triggers for this session when allowed (superuser): the seed links
    rows only to ids it has just read back, so the checks could not fail. True if skipped."""
    await conn.execute("SET maintenance_work_mem = '512MB'")
    try:
        await conn.execute("SET session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        return False
    return True


@contextlib.asynccontextmanager
async def indexes_rebuilt_after(
    conn: asyncpg.Connection, incoming: dict[str, int]
) -> AsyncIterator[list[str]]:
    """Bulk-load practice: for each table about to (at least) double, drop its secondary
    non-unique indexes and rebuild them from their own definitions afterwards (one sort
    per index instead of millions of random insertions). Unique and primary-key indexes
    stay: they enforce rules. The rebuild runs even when the load fails."""
    dropped: list[tuple[str, str]] = []
    for table, rows in incoming.items():
        existing = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM " + table + " LIMIT $1) t", rows + 1
        )
        if rows < BULK_MIN_ROWS or existing > rows:
            continue
        for name, definition in await conn.fetch(
            "SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x"
            " JOIN pg_class c ON c.oid = x.indexrelid"
            " WHERE x.indrelid = $1::regclass AND NOT x.indisunique AND NOT x.indisprimary",
            table,
        ):
            await conn.execute(f'DROP INDEX "{name}"')
            dropped.append((name, definition))
    try:
        yield [name for name, _ in dropped]
    finally:
        for _name, definition in dropped:
            await conn.execute(definition)


async def max_id(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}"))
