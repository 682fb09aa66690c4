"""docs/architecture.md names real code: every dotted name in backticks resolves to a
module of alpine_api or an attribute of one, so the page cannot go stale silently."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
# `module.function`, `module.Class.method`, `package.module`: lower-case dotted names.
NAME = re.compile(r"`([a-z_][a-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`")


def _resolves(name: str) -> bool:
    """Import the longest prefix that is a module, then look up the rest as attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module("alpine_api." + ".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def unresolved_names(text: str) -> list[str]:
    return sorted({name for name in NAME.findall(text) if not _resolves(name)})


def test_every_name_in_the_architecture_doc_exists() -> None:
    text = DOC.read_text()
    assert len(set(NAME.findall(text))) >= 30  # the page does name the code
    assert unresolved_names(text) == []


def test_a_renamed_or_missing_name_is_reported() -> None:
    text = "`request_gate._Gate.handle` then `request_gate._Gate.no_such_step` and `caching.gone`"
    assert unresolved_names(text) == ["caching.gone", "request_gate._Gate.no_such_step"]
    assert unresolved_names("`no_such_module.function`") == ["no_such_module.function"]
