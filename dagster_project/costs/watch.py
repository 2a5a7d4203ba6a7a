"""Notice new export deliveries: the manifests present under an export root, by billing month.

Azure writes a run's manifest last, so a manifest that was not there before means a delivery
finished. Only file names are read here (a manifest is parsed only in a layout with no date-range
folder), which keeps a sensor tick cheap. Any root level works, as for the load itself.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path, PurePosixPath

from dagster_project.costs.discovery import (
    MANIFEST_NAMES,
    ExportSource,
    LocalFolderSource,
    month_of_manifest_path,
)


def delivered_manifests(source: ExportSource | Path, known: dict[str, date] | None = None) -> dict[str, date]:
    """Relative manifest path → billing month, for every manifest at any depth under the root.

    The month comes from the nearest ``YYYYMMDD-YYYYMMDD`` folder; a layout without one (the
    manifest names its dates) has its manifest read once, unless `known` already holds it.
    """
    if isinstance(source, Path):
        source = LocalFolderSource(source)
    found: dict[str, date] = {}
    for rel in source.list_files():
        if PurePosixPath(rel).name not in MANIFEST_NAMES:
            continue
        if known and rel in known:
            found[rel] = known[rel]
            continue
        month = month_of_manifest_path(source, rel)
        if month is not None:
            found[rel] = month
    return found


def months_with_new_deliveries(current: dict[str, date], seen: set[str]) -> dict[date, list[str]]:
    """Billing months that received a manifest not in `seen`, with those manifests."""
    months: dict[date, list[str]] = {}
    for rel, month in sorted(current.items()):
        if rel not in seen:
            months.setdefault(month, []).append(rel)
    return months
