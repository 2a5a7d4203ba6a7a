"""The product imports on Windows too: no module of `dagster_project/` or `assets/` imports a
POSIX-only standard module (many finance owners work on Windows; README, "Quickstart without
make"), and every text file the product reads or writes names its encoding (Windows' default is
not UTF-8)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSIX_ONLY = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "crypt", "syslog", "nis"}


def _product_files() -> list[Path]:
    return sorted([*(ROOT / "dagster_project").rglob("*.py"), *(ROOT / "assets").rglob("*.py")])


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_product_module_imports_a_posix_only_module():
    found = {}
    for path in _product_files():
        posix = _imported(path) & POSIX_ONLY
        if posix:
            found[path.relative_to(ROOT).as_posix()] = posix
    assert found == {}


def test_text_files_are_read_and_written_with_an_explicit_encoding():
    missing = []
    for path in _product_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("read_text", "write_text")
                    and not any(k.arg == "encoding" for k in node.keywords)):
                missing.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")
    assert missing == []
