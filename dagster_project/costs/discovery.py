"""Find Cost Management export runs and pick the one that counts per export × month (DESIGN §4.1).

Layouts understood, relative to the export root (the folder holding one folder per export):

* current:  ``<export>/<YYYYMMDD-YYYYMMDD>/<run-id>/manifest.json`` + the blobs it lists;
* legacy with manifest: ``<export>/<YYYYMMDD-YYYYMMDD>/_manifest.json`` (or ``manifest.json``);
* legacy without manifest: every ``*.csv``, ``*.csv.gz`` and ``*.parquet`` file directly in
  ``<export>/<YYYYMMDD-YYYYMMDD>/``. Such a folder is one run; its time is the newest file's
  modification time and its id is ``None``.

A run folder that holds data files but no manifest is a delivery in progress (Azure writes the
manifest last) and is ignored.

The manifest drives the load: only listed blobs are read. Blob names are untrusted input. They
are normalised (see `normalize_blob_name`), then refused with `UnsafeBlobNameError` when they are
absolute, contain ``..``, or resolve (symlinks included) outside the export root.

Per export × month the newest run wins, ordered by ``runInfo.submittedTime`` and then by folder
name; earlier runs are superseded. A run with no blobs (or 0 rows) is kept as the winner and
simply loads nothing.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

MANIFEST_NAMES = ("manifest.json", "_manifest.json")
DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet")
_RANGE = re.compile(r"^(\d{8})-(\d{8})$")


class ExportDiscoveryError(ValueError):
    """A manifest or layout problem that must stop the load (names the manifest)."""


class UnsafeBlobNameError(ExportDiscoveryError):
    """A manifest lists a blob outside the export root (``..``, absolute path, symlink escape)."""


@runtime_checkable
class ExportSource(Protocol):
    """Where exports live: a local folder (`LocalFolderSource`), Azure Blob / ADLS Gen2 or the Cost
    Details API (`dagster_project.costs.sources`). Paths are POSIX, relative to the root. A remote
    source's `local_path` downloads the file to its cache; discovery never calls it for remote
    sources (only `materialize_run` does, for the runs actually loaded)."""

    def list_files(self) -> Iterator[str]:
        """Every file under the export root, as a relative POSIX path."""
        ...

    def read_bytes(self, relative: str) -> bytes:
        """The content of one file (manifests are small; data files are read by DuckDB)."""
        ...

    def local_path(self, relative: str) -> Path | None:
        """A local path DuckDB can read for that file, or None when the source is remote."""
        ...


@dataclass(frozen=True)
class LocalFolderSource:
    """An export root on the local file system (the embedded default, or an azcopy download)."""

    root: Path

    def list_files(self) -> Iterator[str]:
        root = Path(self.root)
        for dirpath, _dirnames, filenames in os.walk(root):
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            for name in filenames:
                yield name if rel_dir == "." else f"{rel_dir}/{name}"

    def read_bytes(self, relative: str) -> bytes:
        return (Path(self.root) / relative).read_bytes()

    def local_path(self, relative: str) -> Path | None:
        return Path(self.root) / relative


@dataclass(frozen=True)
class ExportBlob:
    path: Path  # local path DuckDB reads
    expected_rows: int | None  # the manifest's dataRowCount (None: no manifest / not given)
    byte_count: int | None
    relative: str = ""  # POSIX path relative to the export root; what `source_file` records


@dataclass(frozen=True)
class ExportRun:
    export_name: str
    month: date  # first day of the billing month
    range_folder: str  # e.g. 20260901-20260930
    run_id: str | None
    submitted_time: datetime | None  # UTC
    manifest_path: Path | None
    blobs: list[ExportBlob] = field(default_factory=list)
    # From the manifest when present: e.g. FocusCost / ActualCost / AmortizedCost and 1.0r2 / 1.2.
    export_type: str | None = None
    data_version: str | None = None
    root: Path | None = None
    # A remote source (Blob storage, Cost Details API): its blobs are fetched to a local cache
    # only when the run is loaded (`materialize_run`), so superseded runs are never downloaded.
    source: ExportSource | None = field(default=None, compare=False, repr=False)

    @property
    def expected_rows(self) -> int | None:
        counts = [b.expected_rows for b in self.blobs]
        return None if any(c is None for c in counts) else sum(counts)  # type: ignore[arg-type]


def _is_remote(source: ExportSource) -> bool:
    return not isinstance(source, LocalFolderSource)


def materialize_run(run: ExportRun) -> ExportRun:
    """The run with every blob's `path` a local file DuckDB can read.

    Local runs are returned unchanged; a remote source downloads (or reuses its cached copy of)
    each listed blob through `source.local_path`.
    """
    if run.source is None or not _is_remote(run.source):
        return run
    blobs = []
    for blob in run.blobs:
        local = run.source.local_path(blob.relative)
        if local is None:
            raise ExportDiscoveryError(f"{blob.relative}: the source gave no local copy of this blob")
        blobs.append(replace(blob, path=local))
    return replace(run, blobs=blobs)


def _as_source(root: Path | str | ExportSource) -> ExportSource:
    if isinstance(root, ExportSource):
        return root
    return LocalFolderSource(Path(root))


def _is_data_file(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(DATA_SUFFIXES)


def _month_of_range(range_folder: str) -> date | None:
    m = _RANGE.match(range_folder)
    if not m:
        return None
    try:
        start = datetime.strptime(m.group(1), "%Y%m%d").date()
        datetime.strptime(m.group(2), "%Y%m%d")
    except ValueError:
        return None
    return start.replace(day=1)


def parse_submitted_time(text: str | None) -> datetime | None:
    """Parse ``runInfo.submittedTime`` (7 fractional digits and a ``Z``, as Azure writes it)."""
    if not text:
        return None
    s = text.strip()
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$", s)
    if not m:
        raise ValueError(f"unrecognised submittedTime {text!r}")
    base, frac, tz = m.groups()
    iso = base + (f".{(frac or '')[:6].ljust(6, '0')}" if frac else "") + ("+00:00" if tz in (None, "Z") else tz)
    return datetime.fromisoformat(iso).astimezone(UTC)


def normalize_blob_name(name: str) -> str:
    """Normalise a manifest ``blobName`` to a relative POSIX path, or raise ValueError.

    Microsoft's own example manifest carries stray spaces after slashes
    (``" folder/sample/ 0000…/part0.csv"``); blob names never legitimately start or end a path
    segment with whitespace in Azure's exports, so whitespace around every segment is stripped.
    Backslashes count as separators (so ``..\\`` cannot slip through); ``.`` segments are
    dropped; ``..`` anywhere, an absolute path, a drive letter or a URL is refused.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("empty blob name")
    raw = name.strip().replace("\\", "/")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw) or "://" in raw:
        raise ValueError("absolute blob name")
    segments = [seg.strip() for seg in raw.split("/")]
    if any(seg == ".." for seg in segments):
        raise ValueError("blob name contains '..'")
    segments = [seg for seg in segments if seg not in ("", ".")]
    if not segments:
        raise ValueError("empty blob name")
    if any("\x00" in seg for seg in segments):
        raise ValueError("blob name contains a NUL byte")
    return "/".join(segments)


def _blob_relative(name: str, root_folder: str | None, manifest_rel: str) -> str:
    """Map a container-relative blob name to a path relative to the export root.

    Azure names blobs relative to the container: ``<rootFolderPath>/<export>/<range>/<run>/part``.
    The export root *is* ``<rootFolderPath>``, so that prefix is removed when present.
    """
    rel = normalize_blob_name(name)
    if root_folder:
        try:
            prefix = normalize_blob_name(root_folder)
        except ValueError:
            prefix = ""
        if prefix and (rel == prefix or rel.startswith(prefix + "/")):
            rel = rel[len(prefix) + 1:]
    if not rel:
        raise ValueError("blob name is the root folder itself")
    # Blob names without the root folder prefix are relative to the root as well, unless they
    # are bare file names, which Azure never writes but hand-made manifests do: those live
    # beside the manifest.
    if "/" not in rel:
        rel = posixpath.join(posixpath.dirname(manifest_rel), rel)
    return rel


def _check_inside(root: Path, rel: str) -> Path:
    root_resolved = Path(root).resolve()
    target = (root_resolved / rel).resolve()
    if target != root_resolved and root_resolved not in target.parents:
        raise ValueError("blob resolves outside the export root")
    return target


def _read_manifest(source: ExportSource, rel: str) -> dict:
    try:
        data = json.loads(source.read_bytes(rel).decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportDiscoveryError(f"manifest {rel}: cannot be read as JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ExportDiscoveryError(f"manifest {rel}: expected a JSON object")
    return data


def _int_or_none(value: object, what: str, manifest: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ExportDiscoveryError(f"manifest {manifest}: {what} must be a non-negative integer, got {value!r}")
    return value


def _run_from_manifest(source: ExportSource, root: Path | None, rel: str, export: str, range_folder: str,
                       month: date, run_folder: str | None, listed: set[str]) -> ExportRun:
    data = _read_manifest(source, rel)
    blobs_raw = data.get("blobs", [])
    if blobs_raw is None:
        blobs_raw = []
    if not isinstance(blobs_raw, list):
        raise ExportDiscoveryError(f"manifest {rel}: 'blobs' must be a list")
    run_info = data.get("runInfo") or {}
    config = data.get("exportConfig") or {}
    delivery = data.get("deliveryConfig") or {}
    try:
        submitted = parse_submitted_time(run_info.get("submittedTime"))
    except ValueError as exc:
        raise ExportDiscoveryError(f"manifest {rel}: {exc}") from exc
    blobs: list[ExportBlob] = []
    for entry in blobs_raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("blobName"), str):
            raise ExportDiscoveryError(f"manifest {rel}: every blob needs a string 'blobName', got {entry!r}")
        name = entry["blobName"]
        remote = _is_remote(source)
        try:
            blob_rel = _blob_relative(name, delivery.get("rootFolderPath"), rel)
            local = None if remote else source.local_path(blob_rel)
            if local is not None and root is not None:
                local = _check_inside(root, blob_rel)
        except ValueError as exc:
            raise UnsafeBlobNameError(f"manifest {rel}: blob {name!r} refused: {exc}") from exc
        if (remote and blob_rel not in listed) or (local is not None and not local.is_file()):
            raise ExportDiscoveryError(f"manifest {rel}: blob {name!r} is listed but missing ({blob_rel})")
        blobs.append(ExportBlob(
            path=local if local is not None else Path(blob_rel),
            expected_rows=_int_or_none(entry.get("dataRowCount"), f"blob {name!r} dataRowCount", rel),
            byte_count=_int_or_none(entry.get("byteCount"), f"blob {name!r} byteCount", rel),
            relative=blob_rel,
        ))
    run_id = run_info.get("runId") or run_folder
    return ExportRun(
        export_name=export, month=month, range_folder=range_folder, run_id=run_id, submitted_time=submitted,
        manifest_path=(root / rel) if root is not None else Path(rel), blobs=blobs,
        export_type=config.get("type"), data_version=config.get("dataVersion"), root=root,
        source=source if _is_remote(source) else None,
    )


def discover_runs(root: Path | str | ExportSource, month: date | None = None) -> list[ExportRun]:
    """Every complete run under the root (superseded ones included), sorted oldest first.

    With `month`, only that month's range folders are looked at, so a broken manifest of another
    month does not stop this month's load.
    """
    source = _as_source(root)
    root_path = Path(source.root) if isinstance(source, LocalFolderSource) else None
    by_dir: dict[tuple[str, ...], list[str]] = {}
    listed: set[str] = set()
    for rel in source.list_files():
        listed.add(rel)
        parts = tuple(PurePosixPath(rel).parts)
        by_dir.setdefault(parts[:-1], []).append(parts[-1])
    runs: list[ExportRun] = []
    for folder, names in sorted(by_dir.items()):
        if len(folder) not in (2, 3):
            continue
        export, range_folder = folder[0], folder[1]
        run_month = _month_of_range(range_folder)
        if run_month is None or (month is not None and run_month != month.replace(day=1)):
            continue
        manifest = next((n for n in MANIFEST_NAMES if n in names), None)
        rel_folder = "/".join(folder)
        if manifest is not None:
            runs.append(_run_from_manifest(source, root_path, f"{rel_folder}/{manifest}", export, range_folder,
                                           run_month, folder[2] if len(folder) == 3 else None, listed))
        elif len(folder) == 2:
            data = sorted(n for n in names if _is_data_file(n))
            if not data:
                continue
            blobs = []
            newest = None
            remote = _is_remote(source)
            for n in data:
                rel = f"{rel_folder}/{n}"
                local = None if remote else source.local_path(rel)
                if local is not None:
                    stat = local.stat()
                    mtime, size = datetime.fromtimestamp(stat.st_mtime, UTC), stat.st_size
                else:  # remote: the listing's last-modified time and size, when the source has them
                    info = getattr(source, "file_info", None)
                    mtime, size = info(rel) if info is not None else (None, None)
                if mtime is not None:
                    newest = mtime if newest is None or mtime > newest else newest
                blobs.append(ExportBlob(path=local or Path(rel), expected_rows=None, byte_count=size, relative=rel))
            runs.append(ExportRun(export, run_month, range_folder, None, newest, None, blobs, root=root_path,
                                  source=source if remote else None))
        elif any(_is_data_file(n) for n in names):
            log.warning("run folder %s has data files but no manifest: delivery incomplete, ignored", rel_folder)
    runs.sort(key=_run_order)
    return runs


def _run_order(run: ExportRun) -> tuple:
    t = run.submitted_time or datetime.min.replace(tzinfo=UTC)
    folder = run.manifest_path.parent.name if run.manifest_path is not None else run.range_folder
    return (run.export_name, run.month, t, folder, run.run_id or "")


def newest_runs(runs: list[ExportRun]) -> list[ExportRun]:
    """The run that counts per export × month: newest submittedTime, then folder name."""
    chosen: dict[tuple[str, date], ExportRun] = {}
    for run in sorted(runs, key=_run_order):
        chosen[(run.export_name, run.month)] = run  # later in the order wins
    return sorted(chosen.values(), key=lambda r: (r.month, r.export_name))


def superseded_runs(runs: list[ExportRun]) -> list[ExportRun]:
    keep = {id(r) for r in newest_runs(runs)}
    return [r for r in runs if id(r) not in keep]


def runs_for_month(root: Path | str | ExportSource, month: date) -> list[ExportRun]:
    """The newest complete run of every export for `month` (first day of the month)."""
    month = month.replace(day=1)
    return newest_runs(discover_runs(root, month))


def months_available(root: Path | str | ExportSource) -> list[date]:
    """Billing months (first days) for which at least one run exists, ascending."""
    return sorted({r.month for r in discover_runs(root)})
