"""Container files, linted without a container engine, and the wheel the image installs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_SCHEMA = ROOT / "tests" / "schemas" / "compose-spec.json"
SECRETS = ("ALPINE_JWT_SECRET", "POSTGRES_PASSWORD")


def tool(name: str) -> str:
    """A console script of the project's environment (next to this interpreter)."""
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else name


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


# -- Containerfile --------------------------------------------------------------------------
def test_hadolint_passes_on_the_containerfile() -> None:
    result = run(tool("hadolint"), "--no-color", "Containerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_fail_on_a_bad_containerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM python:latest\nRUN cd /app && pip install flask\n")
    assert run(tool("hadolint"), "--no-color", str(bad)).returncode != 0


def final_stage(text: str) -> str:
    return re.split(r"(?m)^FROM ", text)[-1]


def test_containerfile_runs_granian_as_a_non_root_user_with_a_liveness_check() -> None:
    text = (ROOT / "Containerfile").read_text()
    assert len(re.findall(r"(?m)^FROM ", text)) >= 2, "multi-stage build expected"
    assert "uv sync --locked" in text
    stage = final_stage(text)
    user = re.findall(r"(?m)^USER\s+(\S+)", stage)
    assert user, "the final stage must switch user"
    assert user[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"(?m)^HEALTHCHECK .*\n?.*/health/live", stage)
    assert 'ENTRYPOINT ["alpine-api"]' in stage
    assert re.search(r'(?m)^CMD \["serve", "--host", "0.0.0.0"', stage)


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".alpine", ".env"} <= ignored
    copied = re.findall(r"(?m)^COPY (?!--from)(.+) \S+$", (ROOT / "Containerfile").read_text())
    for sources in copied:
        for source in sources.split():
            assert source not in ignored, f"{source} is copied but ignored"
            assert (ROOT / source).exists(), f"{source} is copied but missing"


# -- compose.yaml ---------------------------------------------------------------------------
def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "compose.yaml").read_text())  # type: ignore[no-any-return]


def test_compose_file_follows_the_compose_specification() -> None:
    result = run(tool("check-jsonschema"), "--schemafile", str(COMPOSE_SCHEMA), "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_does_reject_a_wrong_compose_file(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  api:\n    image: x\n    depends_on:\n      db: {condition: up}\n")
    result = run(tool("check-jsonschema"), "--schemafile", str(COMPOSE_SCHEMA), str(bad))
    assert result.returncode != 0


def test_compose_services_are_health_checked_and_ordered() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:18")
    valkey = services["valkey"]
    assert valkey["image"].startswith("valkey/valkey:")
    assert "--appendonly" in valkey["command"]
    assert valkey["command"][valkey["command"].index("--appendonly") + 1] == "yes"
    for name in ("postgres", "valkey", "api"):
        assert services[name]["healthcheck"]["test"], f"{name} has no health check"
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate", "apply"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    api = services["api"]
    assert api["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "valkey": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert api["image"] == migrate["image"]
    assert "/health/live" in " ".join(api["healthcheck"]["test"])


def test_compose_secrets_fail_fast_when_unset() -> None:
    text = (ROOT / "compose.yaml").read_text()
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"([^}]*)\}", text)
        assert uses, f"{secret} is not used"
        for suffix in uses:
            assert suffix.startswith(":?"), f"${{{secret}{suffix}}} does not fail when unset"
    assert "change-me" not in text
    env = compose()["services"]["api"]["environment"]
    assert env["ALPINE_JWT_SECRET"].startswith("${ALPINE_JWT_SECRET:?")


# -- the wheel ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` names its own binary in UV
    if uv is None:
        pytest.skip("uv is not on PATH")
    result = run(uv, "build", "--wheel", "--out-dir", str(out))
    assert result.returncode == 0, result.stderr
    (path,) = out.glob("alpine_api-*.whl")
    return path


def test_wheel_carries_every_sql_and_migration_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("sql", "migrations"):
        files = [p for p in (ROOT / folder).rglob("*") if p.is_file()]
        assert files
        for path in files:
            assert f"alpine_api/{path.relative_to(ROOT).as_posix()}" in names


def test_installed_wheel_finds_its_packaged_resources(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from alpine_api import resources as r; print(r.SQL_DIR); print(r.MIGRATIONS_DIR)"
    )
    result = run(sys.executable, "-c", code, str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sql_dir, migrations_dir = map(Path, result.stdout.split())
    assert sql_dir == tmp_path / "alpine_api" / "sql"
    assert migrations_dir == tmp_path / "alpine_api" / "migrations"
    assert (sql_dir / "health" / "ping.sql").is_file()
    assert (migrations_dir / "0001_schema.sql").is_file()


# -- compose.scale.yaml ---------------------------------------------------------------------
def scale_compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "compose.scale.yaml").read_text())  # type: ignore[no-any-return]


def test_scale_compose_file_follows_the_compose_specification() -> None:
    schema = str(COMPOSE_SCHEMA)
    result = run(tool("check-jsonschema"), "--schemafile", schema, "compose.scale.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_scale_compose_runs_api_replicas_on_a_valkey_cluster_and_a_read_replica() -> None:
    services = scale_compose()["services"]
    nodes = [name for name in services if re.fullmatch(r"valkey-\d+", name)]
    assert len(nodes) == 6
    for name in nodes:
        node = services[name]
        assert node["image"].startswith("valkey/valkey:")
        assert "--cluster-enabled yes" in " ".join(node["command"])
        assert node["hostname"] == name
        assert node["healthcheck"]["test"]
    former = services["valkey-cluster"]
    assert "--cluster-replicas 1" in " ".join(former["command"])
    assert former["restart"] == "no"
    assert set(former["depends_on"]) == set(nodes)

    replica = services["postgres-replica"]
    assert "pg_basebackup" in " ".join(replica["command"])
    assert "--write-recovery-conf" in " ".join(replica["command"])
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert (ROOT / "deploy/scale/primary-replication.sh").is_file()

    api = services["api"]
    assert str(api["deploy"]["replicas"]).startswith("${ALPINE_API_REPLICAS:-")
    env = api["environment"]
    assert env["ALPINE_REDIS_CLUSTER"] == "true"
    # Both databases through PgBouncer in transaction mode; migrations straight to the primary.
    assert "@pgbouncer:6432/alpine_replica" in env["ALPINE_DATABASE_REPLICA_URL"]
    assert "@pgbouncer:6432/alpine" in env["ALPINE_DATABASE_URL"]
    assert env["ALPINE_DATABASE_POOLER"] == "transaction"
    assert "@postgres:5432/" in services["migrate"]["environment"]["ALPINE_DATABASE_URL"]
    ini = " ".join(services["pgbouncer"]["command"])
    assert "pool_mode = transaction" in ini
    assert "alpine_replica = host=postgres-replica " in ini
    assert env["ALPINE_JWT_SECRET"].startswith("${ALPINE_JWT_SECRET:?")
    assert api["depends_on"]["valkey-cluster"]["condition"] == "service_completed_successfully"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    lb = services["lb"]
    assert env["ALPINE_TRUSTED_PROXIES"] == lb["networks"]["default"]["ipv4_address"]
    assert lb["depends_on"]["api"]["condition"] == "service_healthy"


def test_scale_compose_secrets_fail_fast_when_unset() -> None:
    text = (ROOT / "compose.scale.yaml").read_text()
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"([^}]*)\}", text)
        assert uses, f"{secret} is not used"
        assert all(suffix.startswith(":?") for suffix in uses), secret
