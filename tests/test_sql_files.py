"""The SQL loader: one commented statement per file, parameters $1..$n, all of sql/ valid."""

from __future__ import annotations

import ast
from pathlib import Path

import asyncpg
import pytest

import alpine_api
from alpine_api.db import Database, QueryError, load_queries
from alpine_api.db.database import pool_options
from alpine_api.resources import SQL_DIR
from alpine_api.signals.schemas import Signal

PACKAGE_DIR = Path(alpine_api.__file__).parent
GOOD = "-- Serves a test.\nSELECT $1::int + $2::int\n"


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_file_path_names_the_query(tmp_path: Path) -> None:
    write(tmp_path, "signals/list_subscribed.sql", GOOD)
    write(tmp_path, "health/ping.sql", "-- Serves a probe.\nSELECT 1;\n")
    queries = load_queries(tmp_path)
    assert sorted(q.name for q in queries) == ["health.ping", "signals.list_subscribed"]
    assert queries["signals.list_subscribed"].params == 2
    assert queries["health.ping"].sql == "-- Serves a probe.\nSELECT 1"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("SELECT 1\n", "must open with a comment"),
        ("--\nSELECT 1\n", "must open with a comment"),
        ("SELECT 1 -- trailing comment\n", "must open with a comment"),
        ("-- Serves nothing.\n", "holds no statement"),
        ("-- Two.\nSELECT 1;\nSELECT 2;\n", "more than one statement"),
        ("-- Gap.\nSELECT $1::int, $3::int\n", "without gaps"),
        ("-- No first.\nSELECT $2::int\n", "without gaps"),
    ],
)
def test_malformed_files_are_refused_by_name(tmp_path: Path, text: str, complaint: str) -> None:
    write(tmp_path, "users/good.sql", GOOD)
    write(tmp_path, "users/bad_one.sql", text)
    with pytest.raises(QueryError, match=complaint) as caught:
        load_queries(tmp_path)
    assert str(caught.value).startswith("users.bad_one:")


def test_semicolons_and_dollars_inside_strings_and_comments_do_not_count(tmp_path: Path) -> None:
    text = "-- Serves a test; uses $9 in prose only.\nSELECT ';' || $1::text /* $7; */\n"
    write(tmp_path, "t.sql", text)
    assert load_queries(tmp_path)["t"].params == 1


def test_unknown_query_name_fails_loudly(tmp_path: Path) -> None:
    write(tmp_path, "a.sql", GOOD)
    with pytest.raises(QueryError, match="no query named 'b'"):
        load_queries(tmp_path)["b"]


def test_every_project_file_opens_with_a_comment_naming_what_it_serves() -> None:
    queries = load_queries(SQL_DIR)
    files = sorted(SQL_DIR.rglob("*.sql"))
    assert len(queries) == len(files) > 0
    for path in files:
        first = path.read_text().splitlines()[0]
        assert first.startswith("-- Serves"), f"{path.relative_to(SQL_DIR)}: {first!r}"


async def test_every_project_query_prepares_against_the_migrated_schema(
    database_url: str,
) -> None:
    queries = load_queries(SQL_DIR)
    conn = await asyncpg.connect(database_url)
    try:
        for query in queries:
            statement = await conn.prepare(query.sql)
            assert len(statement.get_parameters()) == query.params, query.name
    finally:
        await conn.close()


async def test_queries_returning_signals_select_its_fields_in_its_order(
    database_url: str,
) -> None:
    """signals.queries builds a Signal from a row by position."""
    fields = list(Signal.__struct_fields__)
    conn = await asyncpg.connect(database_url)
    try:
        returning = {}
        for query in load_queries(SQL_DIR):
            statement = await conn.prepare(query.sql)
            columns = [attribute.name for attribute in statement.get_attributes()]
            if query.name.startswith("signals.") and set(columns) == set(fields):
                returning[query.name] = columns
    finally:
        await conn.close()
    assert len(returning) == 7, sorted(returning)
    for name, columns in returning.items():
        assert columns == fields, name


async def test_the_pool_plans_prepared_statements_generically_when_direct(
    database_url: str,
) -> None:
    """Once per statement and connection instead of on every execution; not behind a
    transaction pooler, where a session setting would stay on a shared server connection
    (and nothing prepared is reused)."""
    db = await Database.connect(
        database_url,
        load_queries(SQL_DIR),
        min_size=1,
        max_size=1,
        connect_timeout=5,
        command_timeout=5,
    )
    try:
        async with db.pool.acquire() as conn:
            assert await conn.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
    finally:
        await db.close()
    assert "init" not in pool_options("transaction")


async def test_a_typo_fails_start_up_naming_the_file(tmp_path: Path, database_url: str) -> None:
    write(tmp_path, "health/ping.sql", "-- Serves a probe.\nSELECT 1\n")
    write(tmp_path, "users/typo.sql", "-- Serves a test.\nSELECT id FROM userz WHERE id = $1\n")
    with pytest.raises(RuntimeError, match=r"^sql/users\.typo: .*userz"):
        await Database.connect(
            database_url,
            load_queries(tmp_path),
            min_size=1,
            max_size=1,
            connect_timeout=5,
            command_timeout=5,
        )


async def test_a_query_may_declare_its_own_statement_timeout(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "slow.sql").write_text("-- Sleeps.\n-- timeout: 0.2\nSELECT pg_sleep(1)\n")
    (tmp_path / "fast.sql").write_text(
        "-- Sleeps less than the pool's timeout.\nSELECT pg_sleep(0.3)\n"
    )
    queries = load_queries(tmp_path)
    assert queries["slow"].timeout == 0.2 and queries["fast"].timeout is None
    db = await Database.connect(
        database_url, queries, min_size=1, max_size=1, connect_timeout=5, command_timeout=5
    )
    try:
        await db.fetchval("fast")
        with pytest.raises(Exception, match="unavailable"):  # a statement timeout is a 503
            await db.fetchval("slow")
    finally:
        await db.close()


def query_names_outside_queries_modules(root: Path, names: set[str]) -> list[str]:
    """`module: name` for every string literal naming a query outside a queries module
    (`queries.py`, `*_queries.py`): handlers never see query names."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.stem == "queries" or path.stem.endswith("_queries"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(root)}: {node.value}")
    return found


def test_only_queries_modules_name_queries(tmp_path: Path) -> None:
    names = {query.name for query in load_queries(SQL_DIR)}
    assert query_names_outside_queries_modules(PACKAGE_DIR, names) == []
    write(
        tmp_path, "area/routes.py", 'async def h(db):\n    return await db.fetch("health.ping")\n'
    )
    write(tmp_path, "area/queries.py", 'async def ping(db):\n    await db.fetch("health.ping")\n')
    assert query_names_outside_queries_modules(tmp_path, names) == ["area/routes.py: health.ping"]
