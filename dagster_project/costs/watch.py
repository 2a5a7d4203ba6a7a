"""Notice new export deliveries: the manifests present under an export root, by billing month.

Azure writes a run's manifest last, so a manifest that was not there before means a delivery
finished. Only file names are read here (no manifest is parsed), which keeps a sensor tick cheap.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path, PurePosixPath

from dagster_project.costs.discovery import MANIFEST_NAMES, ExportSource, LocalFolderSource

_RANGE_FORMAT = "%Y%m%d"


def _month_of(range_folder: str) -> date | None:
    start, _, end = range_folder.partition("-")
    try:
        datetime.strptime(end, _RANGE_FORMAT)
        return datetime.strptime(start, _RANGE_FORMAT).date().replace(day=1)
    except ValueError:
        return None


def delivered_manifests(source: ExportSource | Path) -> dict[str, date]:
    """Relative manifest path → billing month, for every `<export>/<range>[/<run>]/manifest.json`."""
    if isinstance(source, Path):
        source = LocalFolderSource(source)
    found: dict[str, date] = {}
    for rel in source.list_files():
        parts = PurePosixPath(rel).parts
        if parts[-1] not in MANIFEST_NAMES or len(parts) not in (3, 4):
            continue
        month = _month_of(parts[1])
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
