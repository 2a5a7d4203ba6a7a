"""The inventory snapshot's public layout: where a recorded REST response lives, and `snapshot.json`.

A snapshot (docs/inventory.md, format ``aml-finops-snapshot/1``) is a folder of recorded response bodies.
Every read request the listing makes maps to exactly one file through `snapshot_relpath`; the
recorder, the demo writer and the replay transport all call that one function, so a snapshot
written by any of them is read back by the others.

The rule, for a ``GET`` (or a ``POST`` list action such as ``listNodes``) on any host:

* take the URL path, percent-decoded, lowercased, without its leading slash;
* drop the query parameters that do not select data: ``api-version`` (the file outlives API
  versions) and paging tokens (``$skip``, ``$skipToken``, ``skipToken``: a list's pages are merged
  into one ``{"value": [...]}`` body);
* if any parameters remain, the file is ``<path>@<key=value&...>.json`` with keys and values
  percent-decoded, lowercased and the pairs sorted; otherwise it is ``<path>.json``.

Inside a key or value, the characters that would break a file name or the ``&``/``=`` structure
(``/``, ``\\``, ``&``, ``=``, ``%`` and control characters) stay percent-encoded in upper case
(``%2F``). The host is dropped, so data-plane calls (run history on ``*.api.azureml.ms``) land beside
the ARM ones under their own path (``history/v1.0/...``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qsl, unquote, urlsplit

SNAPSHOT_FORMAT = "aml-finops-snapshot/1"
SNAPSHOT_INFO_FILE = "snapshot.json"

# Query parameters that never select data (compared lowercased). Everything else is part of the
# file name: `listViewType=All` and `listViewType=ActiveOnly` are different answers.
IGNORED_QUERY_PARAMS = frozenset({"api-version", "$skip", "$skiptoken", "skiptoken"})
PAGING_QUERY_PARAMS = frozenset({"$skip", "$skiptoken", "skiptoken"})

# Methods that read. A POST is recorded only for list actions (`listNodes`, `listKeys`-like
# reads); the replay transport refuses anything that would change a resource.
READ_METHODS = frozenset({"GET", "POST"})

_UNSAFE_IN_NAME = {"/": "%2F", "\\": "%5C", "&": "%26", "=": "%3D", "%": "%25"}


def _escape_query_part(text: str) -> str:
    """Percent-encode the few characters that cannot appear literally in a query part of a name."""
    out = []
    for ch in text:
        if ch in _UNSAFE_IN_NAME:
            out.append(_UNSAFE_IN_NAME[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"%{ord(ch):02X}")
        else:
            out.append(ch)
    return "".join(out)


def snapshot_relpath(method: str, url: str) -> PurePosixPath:
    """Map a read request to its file inside a snapshot folder (relative, POSIX separators).

    >>> str(snapshot_relpath("GET", "https://management.azure.com/subscriptions/S/resourceGroups/RG"
    ...     "/providers/Microsoft.MachineLearningServices/workspaces/W/models?api-version=2023-08-01-preview"
    ...     "&listViewType=All&$skipToken=abc"))
    'subscriptions/s/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/w/models@listviewtype=all.json'

    Raises `ValueError` for a method that is not a read, or a path that is empty or tries to leave
    the snapshot folder (`..`), so a hostile URL can never name a file outside it.
    """
    verb = method.upper()
    if verb not in READ_METHODS:
        raise ValueError(f"{method} {url}: a snapshot holds only read requests (GET, or POST list actions)")
    parts = urlsplit(url)
    segments = [unquote(segment).lower() for segment in parts.path.split("/") if segment]
    if not segments:
        raise ValueError(f"{method} {url}: the URL has no path to map to a snapshot file")
    for segment in segments:
        if segment in (".", "..") or "/" in segment or "\\" in segment or "\x00" in segment:
            raise ValueError(f"{method} {url}: path segment {segment!r} cannot name a snapshot file")
    params = sorted(
        (_escape_query_part(key.lower()), _escape_query_part(value.lower()))
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in IGNORED_QUERY_PARAMS
    )
    last = segments[-1]
    if params:
        last += "@" + "&".join(f"{key}={value}" for key, value in params)
    return PurePosixPath(*segments[:-1], f"{last}.json")


def snapshot_file(snapshot_dir: Path, method: str, url: str) -> Path:
    """The absolute file for a request in `snapshot_dir` (see `snapshot_relpath`)."""
    return Path(snapshot_dir).joinpath(*snapshot_relpath(method, url).parts)


@dataclass(frozen=True)
class SnapshotInfo:
    """The contents of `snapshot.json`: when the inventory was captured, over which scopes, by what.

    `captured_at` is timezone-aware UTC: every age (stale versions, untouched computes) is measured
    against it, never against the wall clock.
    """

    captured_at: datetime
    scopes: list[str] = field(default_factory=list)
    tool_version: str = ""
    format: str = SNAPSHOT_FORMAT
    # The calls the recording could not read ({"scope", "call", "error"}, redacted): replaying the
    # snapshot reports them again, so a capture with holes is never mistaken for a complete one.
    failures: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.captured_at.tzinfo is None:
            raise ValueError("SnapshotInfo.captured_at must be timezone-aware (UTC)")
        object.__setattr__(self, "captured_at", self.captured_at.astimezone(UTC))

    def to_json(self) -> dict:
        """The `snapshot.json` document (captured_at as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`)."""
        return {
            "format": self.format,
            "captured_at": self.captured_at.isoformat().replace("+00:00", "Z"),
            "scopes": list(self.scopes),
            "tool_version": self.tool_version,
        } | ({"failures": [dict(item) for item in self.failures]} if self.failures else {})


def write_snapshot_info(snapshot_dir: Path, info: SnapshotInfo) -> Path:
    """Write `<snapshot_dir>/snapshot.json` (sorted keys, so the same info gives the same bytes)."""
    target = Path(snapshot_dir) / SNAPSHOT_INFO_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(info.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def read_snapshot_info(snapshot_dir: Path) -> SnapshotInfo:
    """Read and validate `<snapshot_dir>/snapshot.json`.

    Raises `ValueError` naming the file when it is missing, is not JSON, has another format, or
    lacks a timezone-aware `captured_at` (a naive time is rejected rather than guessed at).
    """
    source = Path(snapshot_dir) / SNAPSHOT_INFO_FILE
    if not source.is_file():
        raise ValueError(f"{source}: missing; an inventory snapshot folder needs {SNAPSHOT_INFO_FILE}")
    try:
        document = json.loads(source.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{source}: not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{source}: expected a JSON object, got {type(document).__name__}")
    if document.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"{source}: format is {document.get('format')!r}, expected {SNAPSHOT_FORMAT!r}")
    raw_time = document.get("captured_at")
    if not isinstance(raw_time, str):
        raise ValueError(f"{source}: captured_at is missing or not a string")
    try:
        captured_at = datetime.fromisoformat(raw_time.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{source}: captured_at {raw_time!r} is not an ISO-8601 time") from exc
    if captured_at.tzinfo is None:
        raise ValueError(f"{source}: captured_at {raw_time!r} has no UTC offset; write it as ...Z")
    scopes = document.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise ValueError(f"{source}: scopes must be a list of strings")
    tool_version = document.get("tool_version", "")
    if not isinstance(tool_version, str):
        raise ValueError(f"{source}: tool_version must be a string")
    failures = document.get("failures", [])
    if not isinstance(failures, list) or not all(
            isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("scope", "call", "error"))
            for item in failures):
        raise ValueError(f"{source}: failures must be a list of {{scope, call, error}} strings")
    return SnapshotInfo(captured_at=captured_at, scopes=list(scopes), tool_version=tool_version,
                        failures=[{k: item[k] for k in ("scope", "call", "error")} for item in failures])
