"""Loads the hand-written queries under sql/.

One query per file. The file's path names it: `sql/signals/list_subscribed.sql` is the
query `signals.list_subscribed`, which is also its `query` label in the
db_query_duration_seconds metric. Each file opens with a comment block saying what the
query serves and which index it relies on, then holds exactly one statement with bound
parameters $1..$n. Files are read once at start-up and checked here for shape; the
database checks the SQL itself when the pool prepares every query at start-up.

A query that is slow by nature (a bulk write) may say so in its opening comment with a
line `-- timeout: <seconds>`; it then gets that statement timeout instead of the pool's.
"""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

_PARAM = re.compile(r"\$(\d+)")
_TIMEOUT = re.compile(r"^--\s*timeout:\s*(\d+(?:\.\d+)?)\s*$", re.MULTILINE)
_STRING_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)


class QueryError(ValueError):
    """A .sql file is malformed (named in the message)."""


class Query(msgspec.Struct, frozen=True):
    name: str
    sql: str
    params: int  # how many $n parameters it binds
    timeout: float | None = None  # seconds; None: the pool's command timeout


class Queries:
    """All queries by name; unknown names fail loudly, never at random."""

    def __init__(self, queries: dict[str, Query]) -> None:
        self._queries = queries

    def __getitem__(self, name: str) -> Query:
        try:
            return self._queries[name]
        except KeyError:
            raise QueryError(f"no query named {name!r} under sql/") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._queries.values())

    def __len__(self) -> int:
        return len(self._queries)


def parse_query(name: str, text: str) -> Query:
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("--") or len(lines[0].strip("- ")) == 0:
        raise QueryError(f"{name}: must open with a comment saying what the query serves")
    code = _STRING_OR_COMMENT.sub(" ", text)
    body = code.strip().rstrip(";").strip()
    if not body:
        raise QueryError(f"{name}: holds no statement")
    if ";" in body:
        raise QueryError(f"{name}: holds more than one statement (one query per file)")
    numbers = sorted({int(n) for n in _PARAM.findall(code)})
    if numbers != list(range(1, len(numbers) + 1)):
        raise QueryError(f"{name}: parameters must be $1..$n without gaps, found {numbers}")
    timeout = _TIMEOUT.search(text)
    return Query(
        name=name,
        sql=text.strip().rstrip(";"),
        params=len(numbers),
        timeout=float(timeout.group(1)) if timeout else None,
    )


def load_queries(root: Path) -> Queries:
    queries: dict[str, Query] = {}
    for path in sorted(root.rglob("*.sql")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        queries[name] = parse_query(name, path.read_text(encoding="utf-8"))
    return Queries(queries)
