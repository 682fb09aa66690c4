"""A PgBouncer in transaction mode in front of a running PostgreSQL, for tests and bench.

Uses the `pgbouncer` binary on PATH (Debian's package: 1.18, which has no
`max_prepared_statements`; ALPINE_DATABASE_POOLER=transaction is what makes the service
safe behind it). Every database of the server is reachable through it (the `*` entry),
each with at most `pool_size` server connections however many clients connect. Like
PostgreSQL it refuses to run as root: as root it runs as `nobody`, with its ini and auth
file in a directory of its own that `nobody` can read.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from alpine_api.embedded import ChildServer, EmbeddedError, free_port, listens


class EmbeddedPgBouncer(ChildServer):
    name = "pgbouncer"
    poll_seconds = 0.02
    not_ready = "pgbouncer did not listen in time"

    def __init__(
        self,
        work_dir: Path,
        *,
        server_host: str,
        server_port: int,
        user: str,
        password: str,
        pool_size: int = 10,
        port: int | None = None,
    ) -> None:
        self.work_dir = work_dir.resolve()
        self.server_host = server_host
        self.server_port = server_port
        self.user = user
        self.password = password
        self.pool_size = pool_size
        self.port = port or free_port()
        self.run_as = pwd.getpwnam("nobody") if os.geteuid() == 0 else None

    @classmethod
    def in_front_of(cls, dsn: str, work_dir: Path, pool_size: int = 10) -> EmbeddedPgBouncer:
        """A PgBouncer for the server, user and password of `dsn`."""
        parts = urlsplit(dsn)
        return cls(
            work_dir,
            server_host=parts.hostname or "127.0.0.1",
            server_port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            pool_size=pool_size,
        )

    def url(self, database: str) -> str:
        secret = quote(self.password, safe="")
        return f"postgresql://{quote(self.user, safe='')}:{secret}@127.0.0.1:{self.port}/{database}"

    def _write_config(self) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.work_dir.chmod(0o755)
        auth_file = self.work_dir / "userlist.txt"
        auth_file.write_text(f'"{self.user}" "{self.password}"\n')
        ini = self.work_dir / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host={self.server_host} port={self.server_port}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = plain\n"
            f"auth_file = {auth_file}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            f"max_db_connections = {self.pool_size}\n"
            "reserve_pool_size = 0\n"
            "max_client_conn = 2000\n"
            # Retry a refused server login after 1 s, not the default 15 s.
            "server_login_retry = 1\n"
            f"admin_users = {self.user}\n"
        )
        for path in (auth_file, ini):
            path.chmod(0o600)
            if self.run_as is not None:
                os.chown(path, self.run_as.pw_uid, self.run_as.pw_gid)
        return ini

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise EmbeddedError("pgbouncer is not installed (apt-get install -y pgbouncer)")
        ini = self._write_config()
        user: dict[str, Any] = {}
        if self.run_as is not None:
            user = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid}
        self._launch(
            [binary, str(ini)],
            self.work_dir / "pgbouncer.log",
            sig=signal.SIGTERM,
            timeout=timeout,
            **user,
        )

    def ready(self) -> bool:
        return listens(self.port)

    def stop(self, timeout: float = 10.0) -> None:
        """Immediate shutdown (SIGTERM in PgBouncer 1.18): every client is cut off."""
        self._halt(signal.SIGTERM, timeout)
