"""The size limits of the source tree: no module over 300 lines, no function over 60.

`oversized` reads each file with ast (decorators, signature and body count towards a
function's length) and names every module and function past its limit.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def oversized(root: Path) -> list[str]:
    """Every module over MAX_MODULE_LINES and function over MAX_FUNCTION_LINES below `root`,
    as `path: what (N lines)`."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        text = path.read_text()
        if (lines := len(text.splitlines())) > MAX_MODULE_LINES:
            found.append(f"{name}: module ({lines} lines)")
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - first + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{name}: {node.name}() ({length} lines)")
    return found


def test_source_tree_keeps_the_limits() -> None:
    assert oversized(SRC) == []


def _function(name: str, lines: int) -> str:
    """A function of `lines` lines."""
    body = "".join(f"    x{i} = {i}\n" for i in range(lines - 3))
    return f"def {name}() -> int:\n    x = 0\n{body}    return x\n"


def test_a_long_function_and_a_long_module_are_named(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    # 61 lines with its decorator: one over the limit, nested in a class.
    long_method = textwrap.indent("@staticmethod\n" + _function("too_long", 60), "    ")
    (package / "shapes.py").write_text(
        "class Shapes:\n" + long_method + "\n\n" + _function("just_right", 60)
    )
    (package / "big.py").write_text("".join(f"A{i} = {i}\n" for i in range(301)))
    (package / "fits.py").write_text("".join(f"A{i} = {i}\n" for i in range(300)))

    assert oversized(tmp_path) == [
        "pkg/big.py: module (301 lines)",
        "pkg/shapes.py: too_long() (61 lines)",
    ]
