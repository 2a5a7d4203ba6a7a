"""Loads the SQL statements kept in `sql/` (one statement per file, named after what it builds)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "sql"  # wheel installs: force-included here
_SOURCE = Path(__file__).resolve().parent.parent / "sql"  # source checkout / editable install


def sql_dir() -> Path:
    return _PACKAGED if _PACKAGED.is_dir() else _SOURCE


@cache
def load_sql(name: str) -> str:
    """Return the statement in `sql/<name>.sql`, e.g. `load_sql("costs/cost_line_items_focus")`."""
    path = sql_dir() / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"SQL statement not found: {path}")
    return path.read_text(encoding="utf-8")
