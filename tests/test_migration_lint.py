"""squawk (PyPI squawk-cli) over migrations/*.sql with .squawk.toml: no findings, every
exception justified where it is made, and a migration that would lock a table is flagged."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".squawk.toml"
MIGRATIONS = sorted((ROOT / "migrations").glob("*.sql"))

# Each statement here takes a lock that stops writes (or reads) for as long as it runs.
UNSAFE_MIGRATION = """\
-- depends: 0013_user_counts
SET LOCAL lock_timeout = '5s';
-- Blocks writes to signals for the whole build.
CREATE INDEX idx_signal_note ON signals (note);
-- Scans users under ACCESS EXCLUSIVE (safe: a CHECK NOT VALID, VALIDATE, then SET NOT NULL).
ALTER TABLE users ALTER COLUMN full_name SET NOT NULL;
-- Rewrites the table under ACCESS EXCLUSIVE.
ALTER TABLE signals ALTER COLUMN confidence TYPE double precision;
"""
UNSAFE_RULES = (
    "require-concurrent-index-creation",
    "adding-not-nullable-field",
    "changing-column-type",
)


def squawk(*paths: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "squawk"
    found = str(binary) if binary.exists() else shutil.which("squawk")
    if found is None:
        pytest.skip("squawk is missing (uv sync installs squawk-cli)")
    return subprocess.run(
        [found, "--config", str(CONFIG), *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# squawk colours its report and links rule names (OSC 8) even into a pipe.
TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;;[^\x1b]*\x1b\\")


def show(capsys: pytest.CaptureFixture[str], title: str, text: str) -> None:
    """Into the test log whatever pytest's flags: squawk's own report is the evidence."""
    with capsys.disabled():
        print(f"\n--- {title}\n{TERMINAL_CODES.sub('', text).rstrip()}")


def test_migrations_have_no_squawk_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(MIGRATIONS) >= 26
    result = squawk(*MIGRATIONS)
    show(capsys, f"squawk over {len(MIGRATIONS)} migrations", result.stdout + result.stderr)
    assert result.returncode == 0
    assert "Found 0 issues" in result.stdout or result.stdout.strip() == ""


def test_squawk_flags_an_unsafe_migration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unsafe = tmp_path / "0099_unsafe.sql"
    unsafe.write_text(UNSAFE_MIGRATION)
    result = squawk(unsafe)
    show(capsys, "squawk over a deliberately unsafe migration", result.stdout + result.stderr)
    assert result.returncode != 0
    for rule in UNSAFE_RULES:
        assert rule in result.stdout, rule


IGNORE = re.compile(r"--\s*squawk-ignore(?:-file)?\s+(?P<rules>[a-z\-, ]+?)\s*(?P<why>--.*)?$")


def unjustified_ignores(text: str) -> list[str]:
    """`squawk-ignore` comments without a `-- reason` after the rule names."""
    found = []
    for line in text.splitlines():
        if "squawk-ignore" in line:
            match = IGNORE.search(line)
            if match is None or not match["why"] or len(match["why"].strip("- ")) < 10:
                found.append(line.strip())
    return found


def test_every_ignored_finding_says_why() -> None:
    ignores = [line for p in MIGRATIONS for line in p.read_text().splitlines() if "squawk-" in line]
    assert ignores  # the exceptions exist, so this check has something to check
    for path in MIGRATIONS:
        assert unjustified_ignores(path.read_text()) == [], path.name


def test_the_justification_check_rejects_a_bare_ignore() -> None:
    text = (
        "-- squawk-ignore-file require-lock-timeout\n"
        "-- squawk-ignore ban-drop-table -- \n"
        "-- squawk-ignore ban-drop-type -- the rollback drops what 0001 made\n"
    )
    assert unjustified_ignores(text) == [
        "-- squawk-ignore-file require-lock-timeout",
        "-- squawk-ignore ban-drop-table --",
    ]
