"""The tables of the catalog, one TOML file per area (`costs`, `attribution`, `findings`, `budgets`,
`inventory`), read into `Table`s. A column is `{ name, type, description }` (plus `required`,
`default`), or `{ field = "<name>" }` for a column shared by several tables (`fields.py`),
optionally with its own `description`. `type` names a constant of `types.py`."""

from __future__ import annotations

import tomllib
from pathlib import Path

from dagster_project.catalog import types
from dagster_project.catalog.fields import FIELDS
from dagster_project.catalog.model import Column, Table

AREAS = ("costs", "attribution", "findings", "budgets", "inventory")  # the order of the catalog
_HERE = Path(__file__).resolve().parent


def _column(spec: dict, where: str) -> Column:
    if "field" in spec:
        column = FIELDS[spec["field"]]
        return column.described(spec["description"]) if "description" in spec else column
    kind = getattr(types, spec["type"], None)
    if not isinstance(kind, types.ColumnType):
        raise ValueError(f"{where}: column {spec.get('name')!r} has an unknown type {spec['type']!r}")
    return Column(spec["name"], kind, spec["description"], required=spec.get("required", False),
                  default=spec.get("default"))


def load_tables() -> tuple[Table, ...]:
    tables = []
    for area in AREAS:
        path = _HERE / f"{area}.toml"
        for name, spec in tomllib.loads(path.read_text(encoding="utf-8")).items():
            columns = tuple(_column(c, f"{path.name} [{name}]") for c in spec.pop("columns"))
            tables.append(Table(name=name, columns=columns, **spec))
    return tuple(tables)
