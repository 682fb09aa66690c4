"""The asyncpg pool behind every query, with timing and bounded waits.

`Database.fetch("signals.list_subscribed", ...)` runs the named file's SQL with bound
parameters. asyncpg prepares each distinct statement once per connection and reuses it
(its statement cache), so the SQL text is parsed and planned once, not per request.
Waiting is always bounded: for a free connection (acquire timeout), for a new
connection (connect timeout) and for a statement (command timeout). A lost server
raises DatabaseUnavailable, which the HTTP layer answers with 503.

The pool skips asyncpg's session reset on release (`RESET ALL`, `UNLISTEN *`, `CLOSE
ALL`, advisory unlock: one more round trip and statement per borrowed connection, about
a quarter of the server's time per request): pooled connections only run the
named queries, which set no session state (a file's timeout is transaction-local), and
asyncpg still rolls back a transaction left open.

Connected directly, the pool's sessions plan prepared statements generically
(`SET plan_cache_mode = force_generic_plan` on each new connection): once per statement
and connection, not on every execution.
Left to choose, PostgreSQL re-plans a keyset page query each time, because its generic
estimate of `LIMIT $n` (a tenth of the rows) looks far dearer than the custom plan of the
same shape, and that planning was about a third of the query's server time.
tests/test_query_plans.py checks every list query's generic plan; the other statements
insert rows or look them up by key.

Behind a pooler in transaction mode (ALPINE_DATABASE_POOLER=transaction, e.g. PgBouncer)
consecutive transactions of one client connection may run on different server
connections, so nothing may outlive a transaction there: the pool also keeps no
statement cache (asyncpg then sends every statement unnamed, parsed anew each time).
The start-up check still prepares every file, unnamed, which is safe through the pooler.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from prometheus_client import Histogram

from alpine_api.config import Pooler
from alpine_api.db.queries import Queries, Query
from alpine_api.metrics import DB_POOL_IDLE, DB_POOL_MAX, DB_POOL_SIZE, DB_QUERY_DURATION

# Errors that mean "the server is not there", not "the query is wrong".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    # Shutting down, crashed, restarting (SQLSTATE class 57), or refusing our login or
    # database: to a client of the API all of it means "not available now".
    asyncpg.OperatorInterventionError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
    # A connection cut off mid-statement can leave asyncpg's protocol in a state it refuses
    # to leave ("cannot switch to state ...; another operation is in progress").
    asyncpg.InternalClientError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)


Connection = asyncpg.Connection | PoolConnectionProxy

# A file's `-- timeout:` bound, set on the server for the rest of the transaction
# (set_config(..., true) is SET LOCAL with a bound parameter): it holds whatever
# statement_timeout the server or role sets, and ends with the transaction, so it never
# stays on a connection a pooler hands to another client. It belongs to the executor
# rather than to sql/: every set of queries with a timed one needs it.
SET_LOCAL_STATEMENT_TIMEOUT = "SELECT set_config('statement_timeout', $1, true)"


def pool_options(pooler: Pooler) -> dict[str, Any]:
    """asyncpg.create_pool arguments for how the DSN reaches PostgreSQL (see above)."""
    if pooler == "direct":
        return {"reset": _keep_no_session_state, "init": _plan_generically}
    return {"statement_cache_size": 0, "reset": _keep_no_session_state}


async def _plan_generically(conn: asyncpg.Connection) -> None:
    """Set on each new direct connection (a SET, not a start-up parameter, which a pooler
    in session mode would refuse)."""
    await conn.execute("SET plan_cache_mode = force_generic_plan")


async def _keep_no_session_state(conn: asyncpg.Connection) -> None:
    """Release hook: the open transaction, if any, is already rolled back by asyncpg; the
    service sets no session state to undo."""


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL could not be reached in time."""


class Executor:
    """Runs named queries on one connection, or on any pooled one (see Database)."""

    def __init__(self, queries: Queries, timers: dict[str, Any]) -> None:
        self.queries = queries
        self._timers = timers

    def _timer(self, name: str) -> Histogram:
        timer = self._timers.get(name)
        if timer is None:
            timer = self._timers[name] = DB_QUERY_DURATION.labels(query=name)
        return timer

    def _connection(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for one statement: the pool's (Database) or the transaction's."""
        raise NotImplementedError

    async def _run(self, method: str, name: str, args: tuple[Any, ...]) -> Any:
        query: Query = self.queries[name]
        started = time.perf_counter()
        try:
            async with self._connection() as conn:
                if query.timeout is None:
                    result = await getattr(conn, method)(query.sql, *args)
                else:
                    async with self._timed_scope(conn):
                        bound = str(max(1, round(query.timeout * 1000)))  # milliseconds
                        await conn.execute(SET_LOCAL_STATEMENT_TIMEOUT, bound)
                        result = await getattr(conn, method)(
                            query.sql, *args, timeout=query.timeout
                        )
        except CONNECTION_ERRORS as exc:
            await self._on_connection_lost()
            raise DatabaseUnavailable(f"database unavailable ({type(exc).__name__})") from exc
        self._timer(name).observe(time.perf_counter() - started)
        return result

    def _timed_scope(self, conn: Connection) -> AbstractAsyncContextManager[Any]:
        """The transaction a statement with its own timeout runs in."""
        raise NotImplementedError

    async def _on_connection_lost(self) -> None:
        """Hook for the pool: drop connections that may be dead."""

    async def fetch(self, name: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run("fetch", name, args)  # type: ignore[no-any-return]

    async def fetchrow(self, name: str, *args: Any) -> asyncpg.Record | None:
        return await self._run("fetchrow", name, args)  # type: ignore[no-any-return]

    async def fetchval(self, name: str, *args: Any) -> Any:
        return await self._run("fetchval", name, args)

    async def execute(self, name: str, *args: Any) -> str:
        return await self._run("execute", name, args)  # type: ignore[no-any-return]


class Transaction(Executor):
    """Named queries inside one transaction on one connection."""

    def __init__(self, conn: Connection, queries: Queries, timers: dict[str, Any]):
        super().__init__(queries, timers)
        self.conn = conn

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        yield self.conn

    def _timed_scope(self, conn: Connection) -> AbstractAsyncContextManager[Any]:
        # Already in one: the bound then holds until this transaction ends.
        return nullcontext()


class Database(Executor):
    """The pool; each call borrows a connection for one statement."""

    def __init__(self, pool: asyncpg.Pool, queries: Queries, *, acquire_timeout: float) -> None:
        super().__init__(queries, {})
        self.pool = pool
        self.acquire_timeout = acquire_timeout

    @classmethod
    async def connect(
        cls,
        dsn: str,
        queries: Queries,
        *,
        min_size: int,
        max_size: int,
        connect_timeout: float,
        command_timeout: float,
        pooler: Pooler = "direct",
    ) -> Database:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=connect_timeout,
            command_timeout=command_timeout,
            max_inactive_connection_lifetime=300,
            **pool_options(pooler),
        )
        db = cls(pool, queries, acquire_timeout=connect_timeout + 1)
        try:
            await db.prepare_all()
        except BaseException:
            await db.close()
            raise
        return db

    async def prepare_all(self) -> None:
        """Prepare every query once: a typo in a .sql file fails start-up, not a request.
        Without a statement cache (behind a transaction pooler) asyncpg prepares unnamed,
        so nothing stays behind on the server connection. asyncpg ends a prepare with
        Flush, not Sync, which to a pooler means "transaction still open": the COMMIT of
        an explicit transaction ends it, or the server connection would stay pinned to
        this client until its next statement."""
        async with self.pool.acquire() as conn, conn.transaction():
            for query in self.queries:
                try:
                    await conn.prepare(query.sql)
                except asyncpg.PostgresError as exc:
                    raise RuntimeError(f"sql/{query.name}: {exc}") from None

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A pooled connection, waited for at most acquire_timeout. asyncio.timeout rather
        than acquire(timeout=...), which on Python 3.11 runs each wait in a task of its own."""
        async with asyncio.timeout(self.acquire_timeout):
            conn = await self.pool.acquire()
        try:
            yield conn
        finally:
            await self.pool.release(conn, timeout=self.acquire_timeout)

    def _timed_scope(self, conn: Connection) -> AbstractAsyncContextManager[Any]:
        return conn.transaction()

    async def _on_connection_lost(self) -> None:
        # After a server restart every pooled connection is dead: replace them all on
        # their next use instead of failing one request per stale connection.
        await self.pool.expire_connections()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """`async with db.transaction() as tx:` commits on success, rolls back on error."""
        try:
            async with self._connection() as conn, conn.transaction():
                yield Transaction(conn, self.queries, self._timers)
        except CONNECTION_ERRORS as exc:
            await self._on_connection_lost()
            raise DatabaseUnavailable(f"database unavailable ({type(exc).__name__})") from exc

    def record_pool_gauges(self) -> None:
        DB_POOL_SIZE.set(self.pool.get_size())
        DB_POOL_IDLE.set(self.pool.get_idle_size())
        DB_POOL_MAX.set(self.pool.get_max_size())

    async def close(self) -> None:
        try:
            async with asyncio.timeout(5.0):
                await self.pool.close()
        except TimeoutError:
            self.pool.terminate()
