"""import-linter's contracts in pyproject.toml (`lint-imports`, run by .ci/run): the tree as
it is keeps them, and each kind of bad import breaks the contract that names it.

Every case runs `lint-imports` on a copy of the package, bench/, tests/ and pyproject.toml
with one bad line added, found first on PYTHONPATH, so the checkout is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "results", "plots")

# (file to change, line to add, contract that must break)
BAD_IMPORTS = {
    "db imports litestar": (
        "alpine_api/db/queries.py",
        "import litestar",
        "db and redis know nothing of HTTP",
    ),
    "config imports ours": (
        "alpine_api/config.py",
        "from alpine_api import resources",
        "config imports nothing of ours",
    ),
    "an area imports another's routes": (
        "alpine_api/users/routes.py",
        "from alpine_api.subscriptions import routes as subscription_routes",
        "No area imports another area's routes",
    ),
    "redis imports upwards": (
        "alpine_api/redis/keys.py",
        "from alpine_api import services",
        "No cycles between packages or modules",
    ),
    "caching imports auth": (
        "alpine_api/caching/policies.py",
        "from alpine_api.auth import current",
        "alpine_api: cli -> app -> areas",
    ),
    "cache policies import the responses": (
        "alpine_api/caching/policies.py",
        "from alpine_api.caching import responses",
        "caching: every module placed",
    ),
    "the app starts an embedded server": (
        "alpine_api/app.py",
        "from alpine_api import embedded",
        "Only cli, tests and bench start embedded servers",
    ),
    "bench imports tests": (
        "bench/harness.py",
        "from tests import support",
        "bench does not import tests",
    ),
    "shared cli helpers import a command": (
        "alpine_api/cli/common.py",
        "from alpine_api.cli import server",
        "cli: every module placed",
    ),
    "a seed module no layer names": (
        "alpine_api/seed/extra.py",
        "from alpine_api.seed import rows",
        "seed: every module placed",
    ),
    "process helpers import a server": (
        "alpine_api/embedded/process.py",
        "from alpine_api.embedded import valkey",
        "embedded: every module placed",
    ),
    "a module no layer names": (
        "alpine_api/helpers.py",
        "from alpine_api import config",
        "alpine_api: cli -> app -> areas",
    ),
}


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "400"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "src" / "alpine_api", tmp_path / "alpine_api", ignore=IGNORED)
    shutil.copytree(ROOT / "bench", tmp_path / "bench", ignore=IGNORED)
    shutil.copytree(ROOT / "tests", tmp_path / "tests", ignore=IGNORED)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def broken(output: str) -> list[str]:
    return [
        line.removesuffix(" BROKEN") for line in output.splitlines() if line.endswith(" BROKEN")
    ]


def test_the_tree_keeps_every_contract(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("case", BAD_IMPORTS)
def test_a_bad_import_breaks_its_contract(tree: Path, case: str) -> None:
    path, line, contract = BAD_IMPORTS[case]
    module = tree / path
    text = module.read_text() if module.exists() else '"""A module."""\n'
    module.write_text(f"{text}\n{line}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert any(name.startswith(contract) for name in broken(result.stdout)), result.stdout
