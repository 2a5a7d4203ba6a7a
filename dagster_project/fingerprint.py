"""Fingerprints of a month's inputs, so that a re-run with nothing changed skips the month.

A month's fingerprint is a SHA-256 over everything its published outputs are computed from:

* its export runs as discovery chose them — per run the export, run id and submission time, the
  manifest's bytes, and per data file its path, size and modification time (a local file) or
  the manifest's byte count (a remote blob): a new run, a re-delivered or edited file, a changed
  manifest or exclusion changes it;
* the inventory snapshot — every file's path and bytes;
* the configuration — the bytes of `finops.yaml` (none: the defaults);
* the code version — the package version and the bytes of every Python and SQL file of the
  pipeline (`dagster_project/`, `assets/`, `sql/`);
* the fingerprint of the month before it, as published: findings and month-over-month columns
  read the previous month, so a month re-run with changed inputs re-runs the months after it.

`runner.run_pipeline` records the fingerprint in `staging.run_fingerprints` of `finops.duckdb` once a
month is published, and skips a month whose recorded fingerprint equals the new one (and whose
published folders are all there), unless `force`. A month without a fingerprint (the Cost
Details API, whose answer cannot be fingerprinted before it is requested) always runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import duckdb

from dagster_project.sql import load_sql

PACKAGE_ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Recorded:
    fingerprint: str
    recorded_at: object  # a timestamp (UTC)


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


@cache
def code_version() -> str:
    """The package version and the bytes of the pipeline's Python and SQL files."""
    from dagster_project import __version__
    from dagster_project.sql import sql_dir

    roots = {PACKAGE_ROOT, PACKAGE_ROOT.parent / "assets", sql_dir()}
    parts = [__version__.encode()]
    for root in sorted(r for r in roots if r.is_dir()):
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".sql") and p.is_file()):
            parts += [path.relative_to(root.parent).as_posix().encode(), path.read_bytes()]
    return _digest(parts)


def snapshot_version(snapshot: Path) -> str:
    """Every file of the inventory snapshot folder: its path and bytes."""
    root = Path(snapshot)
    parts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        parts += [path.relative_to(root).as_posix().encode(), path.read_bytes()]
    return _digest(parts)


def config_version(config: Path | None) -> str:
    return _digest([b"defaults" if config is None else Path(config).read_bytes()])


def runs_version(source, runs) -> str:
    """The month's chosen export runs: ids, manifests and each data file's identity."""
    parts = []
    for run in sorted(runs, key=lambda r: (r.export_key, r.export_name, r.range_folder, r.run_id or "")):
        parts += [run.export_key.encode(), run.export_name.encode(), (run.run_id or "").encode(),
                  str(run.submitted_time).encode()]
        if run.manifest_relative is not None:
            parts.append(source.read_bytes(run.manifest_relative))
        for blob in sorted(run.blobs, key=lambda b: b.relative):
            parts.append(blob.relative.encode())
            local = Path(blob.path) if run.source is None or _is_local(run.source) else None
            if local is not None and local.exists():
                stat = local.stat()
                parts.append(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
            else:
                parts.append(str(blob.byte_count).encode())
    return _digest(parts)


def _is_local(source) -> bool:
    from dagster_project.costs.discovery import LocalFolderSource

    return isinstance(source, LocalFolderSource)


def month_fingerprint(runs: str, snapshot: str, config: str, code: str, previous: str | None) -> str:
    return _digest([json.dumps({"runs": runs, "snapshot": snapshot, "config": config, "code": code,
                                "previous": previous}, sort_keys=True).encode()])


def recorded(con: duckdb.DuckDBPyConnection) -> dict[date, Recorded]:
    """The fingerprint recorded for each published month (none before the first run)."""
    try:
        rows = con.execute(load_sql("publication/run_fingerprints")).fetchall()
    except duckdb.CatalogException:
        return {}
    return {month: Recorded(fingerprint, at) for month, fingerprint, at in rows}


def record(con: duckdb.DuckDBPyConnection, month: date, fingerprint: str) -> None:
    """Remember that `month` was published from inputs with this fingerprint."""
    con.execute(load_sql("publication/create_run_fingerprints"))
    con.execute(load_sql("publication/record_run_fingerprint"), {"billing_month": month, "fingerprint": fingerprint})


def forget(con: duckdb.DuckDBPyConnection, month: date) -> None:
    """Drop a month's fingerprint before it is rebuilt: a failed rebuild must not be skipped."""
    con.execute(load_sql("publication/create_run_fingerprints"))
    con.execute(load_sql("publication/forget_run_fingerprint"), {"billing_month": month})
