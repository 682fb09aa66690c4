"""PostgreSQL access: named SQL files executed through an asyncpg pool. Knows no HTTP."""

from alpine_api.db.database import Database, DatabaseUnavailable, Executor
from alpine_api.db.queries import Queries, QueryError, load_queries
from alpine_api.db.reads import Reader

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "Executor",
    "Queries",
    "QueryError",
    "Reader",
    "load_queries",
]
