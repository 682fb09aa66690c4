"""`alpine-api dev` as a user runs it: serves, prints the admin, stops everything it started,
and finds its data again on the next run."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from alpine_api.embedded import free_port
from tests.support import alive, clean_env, wait_gone

START_TIMEOUT = 60.0


def children_of(pid: int) -> list[int]:
    """Every live descendant of `pid` (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rpartition(")")[2].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found += kids
        frontier += kids
    return [p for p in found if alive(p)]


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


class DevRun:
    """One `alpine-api dev` process in its own session, as a terminal would run it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"dev-{self.port}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "alpine_api.cli", "dev"),
                    *("--data-dir", str(data_dir), "--port", str(self.port)),
                ],
                env=clean_env(PYTHONUNBUFFERED="1"),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self) -> dict[str, object]:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"dev exited with {self.proc.returncode}:\n{self.output()}")
            try:
                response = httpx.get(f"{self.url}/health", timeout=2)
                if response.status_code == 200:
                    return response.json()  # type: ignore[no-any-return]
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"/health not healthy within {START_TIMEOUT} s:\n{self.output()}")

    def admin(self) -> tuple[str, str]:
        match = re.search(r"admin: (\S+@\S+) / (\S+)", self.output())
        assert match, self.output()
        return match.group(1), match.group(2)

    def database_url(self) -> str:
        """The embedded PostgreSQL of this run (its port is on the postmaster's command line)."""
        for pid in children_of(self.proc.pid):
            if match := re.search(r"/postgres -D .* port=(\d+)", command_line(pid)):
                password = (self.data_dir / "postgres" / "postgres-password").read_text().strip()
                return f"postgresql://postgres:{password}@127.0.0.1:{match.group(1)}/alpine"
        pytest.fail("no postgres process under dev")

    def stop(self, sig: signal.Signals) -> dict[int, str]:
        """Send `sig` (SIGINT as Ctrl-C does: to the whole foreground group; SIGTERM to the
        process, as a service manager does); return the processes it had started."""
        started = {pid: command_line(pid) for pid in children_of(self.proc.pid)}
        if sig == signal.SIGINT:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            pytest.fail(f"dev did not exit after {sig.name}:\n{self.output()}")
        return started


@pytest.fixture
def data_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="alpine-dev-"))
    root.chmod(0o755)
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


def assert_all_gone(started: dict[int, str]) -> None:
    """The run had started PostgreSQL, Valkey and Granian workers; none of them is left."""
    for kind in ("postgres", "valkey-server", "alpine_api.cli"):
        assert any(kind in line for line in started.values()), (kind, started)
    left = wait_gone(list(started), 10)
    assert left == [], {pid: started[pid] for pid in left}


def test_dev_serves_prints_the_admin_and_stops_everything_on_ctrl_c(data_dir: Path) -> None:
    run = DevRun(data_dir)
    health = run.wait_healthy()
    assert health == {"status": "healthy", "checks": {"database": "healthy", "redis": "healthy"}}
    email, password = run.admin()
    assert email == "admin@example.com"
    assert len(password) >= 8
    assert f"alpine-api dev: {run.url}" in run.output()

    started = run.stop(signal.SIGINT)
    assert_all_gone(started)
    assert "Traceback" not in run.output()


def test_dev_reuses_its_data_and_stops_everything_on_sigterm(data_dir: Path) -> None:
    first = DevRun(data_dir)
    first.wait_healthy()
    with psycopg.connect(first.database_url(), autocommit=True) as conn:
        users = conn.execute("SELECT count(*) FROM users").fetchone()
        conn.execute("CREATE TABLE kept_between_runs (note text)")
    assert "applied" in first.output()
    assert_all_gone(first.stop(signal.SIGTERM))

    second = DevRun(data_dir)
    second.wait_healthy()
    assert second.admin() == first.admin()  # the generated password is kept in the data dir
    assert "applied" not in second.output()  # the schema is already there
    with psycopg.connect(second.database_url()) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == users
        assert conn.execute("SELECT count(*) FROM kept_between_runs").fetchone() == (0,)
    assert_all_gone(second.stop(signal.SIGTERM))
