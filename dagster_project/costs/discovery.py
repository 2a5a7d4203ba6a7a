"""Find Cost Management export runs at any folder level and pick the one that counts per export × month.

The root given may be a container copy, an export root (``rootFolderPath``), one export, one date
range or one run folder; manifests are found at any depth (`discover`):

* current:  ``<export>/<YYYYMMDD-YYYYMMDD>/<run-id>/manifest.json`` + the blobs it lists, or without
  the range folder (the month from ``runInfo.startDate``, as in Microsoft's example);
* legacy with manifest: ``<export>/<YYYYMMDD-YYYYMMDD>/_manifest.json`` (or ``manifest.json``);
* legacy without manifest: every ``*.csv``, ``*.csv.gz`` and ``*.parquet`` file directly in
  ``<export>/<YYYYMMDD-YYYYMMDD>/``. Such a folder is one run; its time is the newest file's
  modification time and its id is ``None``.

A run folder that holds data files but no manifest is a delivery in progress (Azure writes the
manifest last): not loaded, and named in the warnings.

The manifest drives the load: only listed blobs are read. Blob names are untrusted input. They
are normalised (see `normalize_blob_name`), matched against the listing (`_resolve_blob`), and
refused with `UnsafeBlobNameError` when they are absolute, contain ``..``, or resolve (symlinks
included) outside the root.

Per export folder × month the newest *complete* run wins (see `discover` for incomplete,
unreadable and refused runs); every other run is superseded and never blocks anything.
"""

from __future__ import annotations

import json
import logging
import os
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
    # Runs are grouped per export folder (two roots may hold exports of the same name).
    export_key: str = ""
    manifest_relative: str | None = None  # relative to the root given

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



# Export types that carry cost rows. Other exports (price sheets, reservation recommendations,
# reservation details or transactions) can share a container with them and are never loaded.
COST_EXPORT_TYPES = {"focuscost", "actualcost", "amortizedcost", "usage"}


@dataclass(frozen=True)
class SkippedRun:
    """A run that does not count, and why (every one is reported, none is silently dropped)."""

    export_name: str
    month: date | None
    where: str  # the manifest or folder, relative to the root given
    reason: str
    blocking: bool = False  # True: the month cannot be loaded until it is fixed
    refused: bool = False  # a blob name outside the root (`UnsafeBlobNameError` when it blocks)

    def message(self) -> str:
        month = f"{self.month:%Y-%m} " if self.month else ""
        return f"{month}export {self.export_name}: {self.where}: {self.reason}"


@dataclass
class Discovery:
    """Every run found under a root, and the one that counts per export × month."""

    searched: str
    runs: list[ExportRun] = field(default_factory=list)  # the winners, by month then export
    superseded: list[ExportRun] = field(default_factory=list)
    skipped: list[SkippedRun] = field(default_factory=list)
    folders: int = 0
    files: int = 0

    def months(self) -> list[date]:
        return sorted({r.month for r in self.runs} | {s.month for s in self.skipped if s.blocking and s.month})

    def runs_for(self, month: date) -> list[ExportRun]:
        """The winning runs of `month`; raises when something blocks that month."""
        month = month.replace(day=1)
        blocking = [s for s in self.skipped if s.blocking and s.month == month]
        if blocking:
            error = UnsafeBlobNameError if any(s.refused for s in blocking) else ExportDiscoveryError
            raise error("; ".join(s.message() for s in blocking))
        return [r for r in self.runs if r.month == month]

    def warnings(self, month: date | None = None) -> list[str]:
        """Runs skipped that the user should know of (not superseded noise), for one month or all."""
        return [s.message() for s in self.skipped
                if not s.blocking and (month is None or s.month is None or s.month == month)]

    def nothing_found(self) -> str:
        """The one line saying what was searched and what layout was expected."""
        found = f"{self.folders} folders, {self.files} files"
        return (f"no Cost Management export runs found under {self.searched} ({found} searched); expected "
                "<export>/<YYYYMMDD-YYYYMMDD>/<run-id>/manifest.json beside the files it lists, at any depth "
                "(a container copy, an export root, one export or one run folder)")


@dataclass
class _Candidate:
    export_key: str
    export_name: str
    month: date | None
    order: tuple  # sort key: newer is larger
    where: str
    run: ExportRun | None = None
    problem: str | None = None  # why it cannot be loaded
    unsafe: bool = False  # the problem is a refused blob name (never loaded, even as a fallback)


def _source_name(source: ExportSource) -> str:
    if isinstance(source, LocalFolderSource):
        return Path(source.root).resolve().name or str(source.root)
    for attribute in ("root_path", "container", "export_name"):
        value = getattr(source, attribute, None)
        if isinstance(value, str) and value:
            return value.rstrip("/").rsplit("/", 1)[-1]
    return "exports"


def _searched(source: ExportSource) -> str:
    if isinstance(source, LocalFolderSource):
        return str(source.root)
    account, container = getattr(source, "account_url", None), getattr(source, "container", None)
    if account and container:
        root = getattr(source, "root_path", "")
        return f"{account}/{container}" + (f"/{root}" if root else "")
    return type(source).__name__


def _range_index(parts: tuple[str, ...]) -> int | None:
    """Index of the nearest folder named like a date range (YYYYMMDD-YYYYMMDD), from the end."""
    for index in range(len(parts) - 1, -1, -1):
        if _month_of_range(parts[index]) is not None:
            return index
    return None


def _month_from_text(text: object) -> date | None:
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10]).replace(day=1)
    except ValueError:
        return None


def month_of_manifest_path(source: ExportSource, rel: str) -> date | None:
    """The billing month of a manifest: its nearest date-range folder, else its ``runInfo.startDate``
    (None when neither can be read)."""
    folder = tuple(PurePosixPath(rel).parts[:-1])
    range_at = _range_index(folder)
    if range_at is not None:
        return _month_of_range(folder[range_at])
    try:
        run_info = _read_manifest(source, rel).get("runInfo")
    except ExportDiscoveryError:
        return None
    return _month_from_text(run_info.get("startDate")) if isinstance(run_info, dict) else None


def _resolve_blob(name: str, manifest_dir: tuple[str, ...], listed: set[str]) -> tuple[str, bool]:
    """Map a manifest's container-relative blob name to a path under the root given.

    Azure names blobs from the container: ``<rootFolderPath>/<export>/<range>/<run>/part``. The root
    given may be any folder on that path (the container copy, the export root, one export, one
    run), so the blob is the longest tail of its name that exists under the root and lies in the
    manifest's folder; a bare file name (hand-made manifests) lives beside the manifest. Returns
    the path and whether it exists. `name` must already be normalized (no ``..``, not absolute).
    """
    parts = tuple(name.split("/"))
    prefix = "/".join(manifest_dir)
    for index in range(len(parts)):
        tail = "/".join(parts[index:])
        if (not prefix or tail.startswith(prefix + "/")) and tail in listed:
            return tail, True
    beside = "/".join((*manifest_dir, parts[-1]))
    return beside, beside in listed


def _file_time(source: ExportSource, rel: str) -> datetime | None:
    local = source.local_path(rel) if not _is_remote(source) else None
    if local is not None:
        try:
            return datetime.fromtimestamp(local.stat().st_mtime, UTC)
        except OSError:
            return None
    info = getattr(source, "file_info", None)
    return info(rel)[0] if info is not None else None


def _order(submitted: datetime | None, folder: str, run_id: str | None) -> tuple:
    return (submitted or datetime.min.replace(tzinfo=UTC), folder, run_id or "")


def _manifest_candidate(source: ExportSource, root: Path | None, rel: str, listed: set[str],
                        root_name: str) -> _Candidate | None:
    folder = tuple(PurePosixPath(rel).parts[:-1])
    range_at = _range_index(folder)
    # The export's folder: above the range folder, or above the run folder when there is none.
    if range_at is not None:
        export_parts = folder[:range_at]
        run_folder = folder[range_at + 1] if len(folder) > range_at + 1 else None
    else:
        export_parts = folder[:-1]
        run_folder = folder[-1] if folder else None
    path_month = _month_of_range(folder[range_at]) if range_at is not None else None
    fallback_name = export_parts[-1] if export_parts else root_name
    try:
        data = _read_manifest(source, rel)
    except ExportDiscoveryError as exc:
        return _Candidate("/".join(export_parts) or fallback_name, fallback_name, path_month,
                          _order(_file_time(source, rel), "/".join(folder), None), rel,
                          problem=str(exc).removeprefix(f"manifest {rel}: "))
    config = data.get("exportConfig") if isinstance(data.get("exportConfig"), dict) else {}
    run_info = data.get("runInfo") if isinstance(data.get("runInfo"), dict) else {}
    name = config.get("exportName") if isinstance(config.get("exportName"), str) and config.get("exportName").strip() \
        else fallback_name
    name = name.strip()
    export_key = "/".join(export_parts) or name
    export_type = config.get("type") if isinstance(config.get("type"), str) else None
    if export_type and export_type.strip().lower() not in COST_EXPORT_TYPES:
        log.info("manifest %s: %s export, not cost rows: ignored", rel, export_type)
        return None
    month = path_month or _month_from_text(run_info.get("startDate"))
    candidate = _Candidate(export_key, name, month, _order(None, "/".join(folder), None), rel)
    try:
        submitted = parse_submitted_time(run_info.get("submittedTime"))
    except ValueError as exc:
        candidate.problem = str(exc)
        candidate.order = _order(_file_time(source, rel), "/".join(folder), None)
        return candidate
    run_id = run_info.get("runId") if isinstance(run_info.get("runId"), str) else run_folder
    candidate.order = _order(submitted or _file_time(source, rel), "/".join(folder), run_id)
    if month is None:
        candidate.problem = "cannot tell the billing month (no YYYYMMDD-YYYYMMDD folder and no runInfo.startDate)"
        return candidate
    blobs_raw = data.get("blobs", [])
    if blobs_raw is None:
        blobs_raw = []
    if not isinstance(blobs_raw, list):
        candidate.problem = "'blobs' must be a list"
        return candidate
    blobs: list[ExportBlob] = []
    missing: list[str] = []
    for entry in blobs_raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("blobName"), str):
            candidate.problem = f"every blob needs a string 'blobName', got {entry!r}"
            return candidate
        blob_name = entry["blobName"]
        try:
            normalized = normalize_blob_name(blob_name)
            blob_rel, exists = _resolve_blob(normalized, folder, listed)
            local = None if _is_remote(source) else source.local_path(blob_rel)
            if local is not None and root is not None and exists:
                local = _check_inside(root, blob_rel)
        except ValueError as exc:
            candidate.problem = f"blob {blob_name!r} refused: {exc}"
            candidate.unsafe = True
            return candidate
        if not exists:
            missing.append(f"{blob_name!r} ({blob_rel})")
            continue
        try:
            blobs.append(ExportBlob(
                path=local if local is not None else Path(blob_rel),
                expected_rows=_int_or_none(entry.get("dataRowCount"), f"blob {blob_name!r} dataRowCount", rel),
                byte_count=_int_or_none(entry.get("byteCount"), f"blob {blob_name!r} byteCount", rel),
                relative=blob_rel,
            ))
        except ExportDiscoveryError as exc:
            candidate.problem = str(exc).removeprefix(f"manifest {rel}: ")
            return candidate
    if missing:
        candidate.problem = ("listed but missing (still being delivered?): " + ", ".join(missing[:3])
                             + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
        return candidate
    candidate.run = ExportRun(
        export_name=name, month=month, range_folder=folder[range_at] if range_at is not None else f"{month:%Y%m}",
        run_id=run_id, submitted_time=submitted, manifest_path=(root / rel) if root is not None else Path(rel),
        blobs=blobs, export_type=export_type, data_version=config.get("dataVersion"), root=root,
        source=source if _is_remote(source) else None, export_key=export_key, manifest_relative=rel,
    )
    return candidate


def _legacy_candidate(source: ExportSource, root: Path | None, folder: tuple[str, ...], names: list[str],
                      root_name: str) -> _Candidate | None:
    """A range folder holding data files and no manifest (older exports): one run."""
    data = sorted(n for n in names if _is_data_file(n))
    month = _month_of_range(folder[-1]) if folder else None
    if not data or month is None:
        return None
    export_parts = folder[:-1]
    name = export_parts[-1] if export_parts else root_name
    rel_folder = "/".join(folder)
    blobs, newest = [], None
    for n in data:
        rel = f"{rel_folder}/{n}"
        local = None if _is_remote(source) else source.local_path(rel)
        if local is not None:
            stat = local.stat()
            mtime, size = datetime.fromtimestamp(stat.st_mtime, UTC), stat.st_size
        else:  # remote: the listing's last-modified time and size, when the source has them
            info = getattr(source, "file_info", None)
            mtime, size = info(rel) if info is not None else (None, None)
        if mtime is not None:
            newest = mtime if newest is None or mtime > newest else newest
        blobs.append(ExportBlob(path=local or Path(rel), expected_rows=None, byte_count=size, relative=rel))
    run = ExportRun(name, month, folder[-1], None, newest, None, blobs, root=root,
                    source=source if _is_remote(source) else None, export_key="/".join(export_parts) or name,
                    manifest_relative=None)
    return _Candidate(run.export_key, name, month, _order(newest, rel_folder, None), rel_folder, run=run)


def _excluded(candidate: _Candidate, exclude: list[str]) -> bool:
    """Excluded by export name, by the export folder's name, or by its path under the root
    (case-insensitive globs: `manual-*`)."""
    from fnmatch import fnmatchcase

    names = {candidate.export_name.lower(), candidate.export_key.lower(),
             candidate.export_key.rsplit("/", 1)[-1].lower()}
    return any(fnmatchcase(name, pattern.strip().strip("/").lower()) for pattern in exclude for name in names)


def discover(root: Path | str | ExportSource, month: date | None = None,
             exclude: list[str] | tuple[str, ...] = ()) -> Discovery:
    """Every run under the root, at any depth, and the winner per export × month.

    Per export × month the newest *complete* run wins (by ``runInfo.submittedTime``, then folder
    name). A newer run that is incomplete (a listed blob is missing: Azure is still delivering)
    or unreadable is skipped with a warning and the previous complete run counts; runs older
    than the winner are superseded and never block anything. A newest run that names a blob
    outside the root (``..``, absolute, a symlink escape) blocks its month: it is refused, not
    worked around. With `month`, manifests under range folders of other months are not read.
    `exclude` drops exports by name or folder (finops.yaml `exports.exclude`).
    """
    source = _as_source(root)
    root_path = Path(source.root) if isinstance(source, LocalFolderSource) else None
    root_name = _source_name(source)
    found = Discovery(searched=_searched(source))
    by_dir: dict[tuple[str, ...], list[str]] = {}
    listed: set[str] = set()
    for rel in source.list_files():
        listed.add(rel)
        parts = tuple(PurePosixPath(rel).parts)
        by_dir.setdefault(parts[:-1], []).append(parts[-1])
    found.folders, found.files = len(by_dir), len(listed)
    wanted = month.replace(day=1) if month is not None else None
    candidates: list[_Candidate] = []
    for folder, names in sorted(by_dir.items()):
        manifest = next((n for n in MANIFEST_NAMES if n in names), None)
        range_at = _range_index(folder)
        if wanted is not None and range_at is not None and _month_of_range(folder[range_at]) != wanted:
            continue
        if manifest is not None:
            candidate = _manifest_candidate(source, root_path, "/".join((*folder, manifest)), listed, root_name)
        elif range_at is not None and range_at == len(folder) - 1:
            candidate = _legacy_candidate(source, root_path, folder, names, root_name)
        else:
            if range_at is not None and any(_is_data_file(n) for n in names):
                found.skipped.append(SkippedRun(
                    folder[range_at - 1] if range_at else root_name, _month_of_range(folder[range_at]),
                    "/".join(folder), "data files but no manifest yet: delivery in progress, not loaded"))
            continue
        if candidate is None or (wanted is not None and candidate.month not in (None, wanted)):
            continue
        if exclude and _excluded(candidate, list(exclude)):
            log.info("export %s excluded by exports.exclude", candidate.export_name)
            continue
        candidates.append(candidate)
    groups: dict[tuple[str, date | None], list[_Candidate]] = {}
    for candidate in candidates:
        groups.setdefault((candidate.export_key, candidate.month), []).append(candidate)
    for (_key, group_month), group in sorted(groups.items(), key=lambda item: (str(item[0][1]), item[0][0])):
        group.sort(key=lambda c: c.order, reverse=True)
        winner_seen = False
        for index, candidate in enumerate(group):
            if winner_seen:
                if candidate.run is not None:
                    found.superseded.append(candidate.run)
                continue
            if candidate.run is not None:
                found.runs.append(candidate.run)
                winner_seen = True
                continue
            incomplete = _is_incomplete(candidate)
            if candidate.unsafe:
                reason = f"{candidate.problem}; refused"
            elif incomplete:
                older = any(c.run is not None for c in group[index + 1:])
                reason = f"{candidate.problem}; skipped, " + (
                    "the previous complete run counts" if older else "no complete run of this export yet")
            else:
                reason = f"{candidate.problem}; the month cannot be loaded until this run is fixed or removed"
            found.skipped.append(SkippedRun(candidate.export_name, group_month, candidate.where, reason,
                                            blocking=group_month is not None and not incomplete,
                                            refused=candidate.unsafe))
            if candidate.unsafe:
                winner_seen = True  # a refused newest run is never worked around
    found.runs.sort(key=lambda r: (r.month, r.export_name, r.export_key))
    return found


def _is_incomplete(candidate: _Candidate) -> bool:
    return bool(candidate.problem and candidate.problem.startswith("listed but missing"))


def discover_runs(root: Path | str | ExportSource, month: date | None = None) -> list[ExportRun]:
    """Every complete run under the root (superseded ones included), oldest first."""
    found = discover(root, month)
    runs = found.runs + found.superseded
    return sorted(runs, key=lambda r: (r.export_key, r.month, _order(r.submitted_time, str(r.manifest_path), r.run_id)))


def runs_for_month(root: Path | str | ExportSource, month: date, exclude: list[str] | tuple[str, ...] = ()) -> list[ExportRun]:
    """The newest complete run of every export for `month` (first day of the month)."""
    return discover(root, month, exclude).runs_for(month)


def months_available(root: Path | str | ExportSource, exclude: list[str] | tuple[str, ...] = ()) -> list[date]:
    """Billing months (first days) with at least one run that counts (or one that blocks), ascending."""
    return discover(root, exclude=exclude).months()
