"""The column tables of the docs, generated from the catalog.

Each catalogued table's columns appear in `docs/tables.md` or `docs/inventory.md` between
`<!-- catalog:<table> -->` and `<!-- /catalog:<table> -->`; the prose around them is written by
hand. Regenerate after changing the catalog:

    .venv/bin/python -m dagster_project.catalog.docs

`tests/test_catalog.py` fails when a checked-in doc differs from what this writes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from dagster_project.catalog import TABLES
from dagster_project.catalog.model import Table

DOCS = ("tables.md", "inventory.md")
_SECTION = re.compile(r"(<!-- catalog:(?P<name>\w+) -->\n)(?P<body>.*?)(<!-- /catalog:(?P=name) -->)", re.S)


def docs_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "docs"


def column_table(table: Table) -> str:
    lines = ["| column | type | meaning |", "|---|---|---|"]
    for c in table.columns:
        flags = " NOT NULL" if c.required else ""
        flags += f" DEFAULT {c.default}" if c.default is not None else ""
        lines.append(f"| {c.name} | {c.type.duckdb.replace(' ', '')}{flags} | {c.description} |")
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """`text` with every catalog section regenerated."""
    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in TABLES:
            raise ValueError(f"docs name a table the catalog lacks: {name}")
        return match.group(1) + column_table(TABLES[name]) + match.group(4)

    return _SECTION.sub(replace, text)


def sections(text: str) -> list[str]:
    return [m.group("name") for m in _SECTION.finditer(text)]


def main() -> int:
    for name in DOCS:
        path = docs_dir() / name
        text = path.read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
