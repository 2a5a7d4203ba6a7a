"""Record an inventory snapshot: list live through a transport that keeps every response body.

`RecordingTransport` is an azure-core `HttpTransport` wrapping the real one (``RequestsTransport``
by default). Every client the listing builds (azure-ai-ml's ARM and run-history clients, its
plain requests pipeline for the discovery document, azure-mgmt-resource) sends through it; each
request goes to the inner transport unchanged and, when the answer is a ``200`` JSON body, that
body is kept under the file `snapshot_relpath` assigns to the request (docs/inventory.md):

* **pages are merged**: a follow-up page (its URL carries ``$skipToken`` / ``$skip`` /
  ``skipToken``) maps to the same file as the first page; its ``value`` items are appended, in
  order, to the list it continues (matched through the previous page's ``nextLink``), and the
  stored body has no ``nextLink``;
* **the first body wins** for a file requested again with a different answer (the host is not
  part of a path, so two regions' discovery documents share ``discovery.json``; see
  docs/inventory.md), while a list requested again from its first page starts over;
* **only reads**: ``GET``, and the ``POST`` read actions of `ALLOWED_POST_ACTIONS` (``listNodes``);
  every other method or action (``listKeys``, ``listSecrets``, ``regenerate...``, ``start``) is
  refused with `ValueError` before it reaches Azure: the tool never changes a resource nor reads
  a key;
* a body that is not JSON or not the shape its path implies (`shapes.shape_problem`: a list
  without ``value``) is not kept and is reported, so the replay fails that call loudly;
* non-200 answers (a 429 being retried, a 404) pass through unrecorded.

**Redaction.** Only response *bodies* are ever written (never a request, a header, a token or a
credential), and each body is scrubbed before it is kept (`redact`):

* a field whose name, compared case-insensitively without ``_``, ``-``, ``.`` and spaces,
  *contains* one of `SECRET_NAME_PARTS` (``password``, ``passwd``, ``pwd``, ``secret``, ``token``,
  ``connectionstring``, ``connstr``, ``credential``, ``signature``, ``sastoken``, ``sasuri``,
  ``sasurl``, ``apikey``, ``accountkey``, ``sharedaccesskey``, ``privatekey``, ``cookie``), *is*
  one of `SECRET_NAMES` (``authorization``, ``auth``, ``bearer``, ``pass``, ``sig``), *ends* with
  ``key`` / ``keys`` / ``pass`` (``primaryKey``, ``secondaryKeys``, ``DB_PASS``), or is a bag of
  user settings (`VALUE_BAG_NAMES`: a job's ``environmentVariables``, whatever the variables are
  called); and the ``value`` of a ``{"name": <secret name>, "value": ...}`` pair. Every string
  inside becomes ``"REDACTED"`` (numbers, booleans and the JSON structure stay, so the SDK still
  deserializes it). ``keyVault`` or ``storageAccount`` ids do not match and are kept;
* in every string value (and key) anywhere: the value of the URL query parameters
  `SECRET_QUERY_PARAMS` (``sig``, ``signature``, ``access_token``, ``token``, ``code``: SAS
  signatures, function keys) in any encoding — plain after ``?``, ``&``, ``;`` or at the start of
  the string, HTML-escaped (``&amp;sig=``), percent-encoded once (``%26sig%3D``) or twice
  (``%2526sig%253D``); ``Bearer <token>`` and ``Basic <credentials>`` (also ``Bearer%20…``; a
  plain word after ``Basic``, as in "Basic tier", is kept); JWTs (``eyJ...``); and
  ``AccountKey=`` / ``SharedAccessKey=`` / ``SharedAccessSignature=`` / ``Password=`` / ``Pwd=`` /
  ``Passwd=`` in connection strings;
* a request whose own URL carries one of `SECRET_QUERY_PARAMS` is not recorded at all (the query
  would become part of the file name); it is reported instead;
* the failures kept in ``snapshot.json`` (an HTTP error's message may echo a URL) are scrubbed
  the same way.

Tag *names* are user data and follow the same rule: a tag called ``api-key`` has its value
redacted.

`record_snapshot` runs the listing (`list_inventory`) through a `RecordingTransport` and writes
the folder atomically: bodies and ``snapshot.json`` go to a temporary sibling folder that is
renamed into place only when complete. Live use passes ``azure.identity.DefaultAzureCredential()``;
the credential is only handed to the SDK clients and is never persisted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import HttpTransport

from dagster_project.inventory.listing import (
    DEFAULT_MAX_WORKERS,
    ListingFailure,
    ProgressCallback,
    SdkCalls,
    list_inventory,
    parse_listing_scope,
)
from dagster_project.inventory.shapes import shape_problem
from dagster_project.inventory.snapshot_paths import (
    PAGING_QUERY_PARAMS,
    SnapshotInfo,
    snapshot_relpath,
    write_snapshot_info,
)
from dagster_project.inventory.tables import Inventory, build_inventory

REDACTED = "REDACTED"
SECRET_NAME_PARTS = (
    "password", "passwd", "pwd", "secret", "token", "connectionstring", "connstr", "credential", "signature",
    "sastoken", "sasuri", "sasurl", "apikey", "accountkey", "sharedaccesskey", "privatekey", "cookie",
)
# Whole names only: `authorizationSource` or `computeInstanceAuthorizationType` are not secrets.
SECRET_NAMES = frozenset({"authorization", "auth", "bearer", "pass", "sig"})
SECRET_NAME_SUFFIXES = ("key", "keys", "pass")
# Fields whose every value is user-supplied configuration that routinely holds credentials: a job's
# `environmentVariables` (`DB_PASS`, `GITHUB_PAT`), whatever the variables are called.
VALUE_BAG_NAMES = frozenset({"environmentvariables", "environmentvariable", "envvars", "environment_variables"})
SECRET_QUERY_PARAMS = frozenset({"sig", "signature", "access_token", "token", "code"})
# The POST actions the listing may send: reads that return no secret. Everything else (listKeys,
# listSecrets, listConnectionStrings, regenerate..., start/stop) is refused before it is sent.
ALLOWED_POST_ACTIONS = frozenset({"listnodes"})

# A query parameter in any encoding the service or a user may have stored it in: plain (`?sig=`,
# `&sig=`, `sig=` at the start), HTML-escaped (`&amp;sig=`), percent-encoded once (`%26sig%3D`) or
# twice (`%2526sig%253D`). The value ends at the next separator in the same encoding.
_PARAM_START = r"(?:^|(?<=[?&;\s\"'(,])|%3[Ff]|%26|%253[Ff]|%2526)"
_PARAM_EQ = r"(?:=|%3[Dd]|%253[Dd])"
_QUERY_SECRET = re.compile(
    _PARAM_START + r"(?:sig|signature|access_token|token|code)" + _PARAM_EQ
    + r"(?:(?!%26|%2526|&amp;)[^&#\s\"'<>])*", re.IGNORECASE)
# `Bearer <token>` / `Basic <credentials>` in headers, curl lines, logs, URL-encoded (`Bearer%20…`).
_AUTH_SCHEME = re.compile(r"(?i)\b(Bearer|Basic)(\s+|%20|\+)([A-Za-z0-9\-._~+/]+=*)")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_CONNECTION_SECRET = re.compile(
    r"(?i)\b((?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|Passwd)=)[^;\"'\s]+")
_NEXT_LINK_KEYS = ("nextLink", "@odata.nextLink")


def _name_key(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "").replace(".", "")


def is_secret_name(name: str) -> bool:
    """Whether a JSON field name marks a secret (see the module docstring for the list)."""
    lowered = _name_key(name)
    return (
        lowered in SECRET_NAMES
        or any(part in lowered for part in SECRET_NAME_PARTS)
        or lowered.endswith(SECRET_NAME_SUFFIXES)
        or lowered in {_name_key(n) for n in VALUE_BAG_NAMES}
    )


def _is_basic_credential(token: str) -> bool:
    """`Basic <token>`: a credential unless the token is an ordinary word (`Basic tier`)."""
    return not re.fullmatch(r"[A-Z]?[a-z]+", token)


def _auth(match: re.Match[str]) -> str:
    scheme, gap, token = match.group(1), match.group(2), match.group(3)
    if scheme.lower() == "basic" and not _is_basic_credential(token):
        return match.group(0)
    return f"{scheme}{gap}{REDACTED}"


def _query_secret(match: re.Match[str]) -> str:
    text = match.group(0)
    for eq in ("=", "%3D", "%3d", "%253D", "%253d"):
        at = text.find(eq)
        if at >= 0:
            return text[: at + len(eq)] + REDACTED
    return REDACTED


def scrub_text(text: str) -> str:
    """Remove SAS signatures (in any encoding), `Bearer` / `Basic` credentials, JWTs and
    connection-string keys from one string."""
    if not text:
        return text
    if "=" in text or "%3" in text or "%25" in text:
        text = _QUERY_SECRET.sub(_query_secret, text)
        text = _CONNECTION_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    lowered = text.lower()
    if "bearer" in lowered or "basic" in lowered:
        text = _AUTH_SCHEME.sub(_auth, text)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    return text


def _blank_strings(value: Any) -> Any:
    if isinstance(value, str):
        return REDACTED
    if isinstance(value, dict):
        return {key: _blank_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_blank_strings(item) for item in value]
    return value


def _name_value_secret(document: dict[str, Any]) -> bool:
    """`{"name": "DB_PASSWORD", "value": "..."}` pairs (env var and setting lists)."""
    name = document.get("name", document.get("key"))
    return isinstance(name, str) and "value" in document and is_secret_name(name)


def redact(document: Any) -> Any:
    """A copy of a JSON document with every secret removed (see the module docstring)."""
    if isinstance(document, dict):
        out = {}
        pair_secret = _name_value_secret(document)
        for key, value in document.items():
            secret = is_secret_name(str(key)) or (pair_secret and key == "value")
            out[scrub_text(key) if isinstance(key, str) else key] = \
                _blank_strings(value) if secret else redact(value)
        return out
    if isinstance(document, list):
        return [redact(item) for item in document]
    if isinstance(document, str):
        return scrub_text(document)
    return document


def _paging_key(url: str) -> frozenset[tuple[str, str]]:
    return frozenset(
        (key.lower(), value) for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)
        if key.lower() in PAGING_QUERY_PARAMS
    )


def _next_link(document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    for key in _NEXT_LINK_KEYS:
        link = document.get(key)
        if isinstance(link, str) and link:
            return link
    return None


def _without_next_link(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in _NEXT_LINK_KEYS}


def _safe_url(url: str) -> str:
    """The URL without its query (for messages: a query may hold a secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


@dataclass
class _Recording:
    document: Any
    values: list[Any] | None = None  # set for a list body: every page's items, in order

    def body(self) -> Any:
        if self.values is None:
            return self.document
        return {**self.document, "value": self.values}


@dataclass(frozen=True)
class NotRecorded:
    """A successful response the recorder could not keep (the replay will miss its file)."""

    method: str
    url: str  # without query
    reason: str


class RecordingTransport(HttpTransport):
    """Pass requests to `inner` and keep each 200 JSON body under its snapshot path (redacted).

    Thread-safe: one instance is shared by every client and worker thread of a listing. Like
    `ReplayTransport`, entering / exiting it is a no-op (MLClient enters the shared transport once
    per client); `close()` closes the inner transport.
    """

    def __init__(self, inner: HttpTransport | None = None) -> None:
        if inner is None:
            from azure.core.pipeline.transport import RequestsTransport

            inner = RequestsTransport()
        self.inner = inner
        self._lock = threading.Lock()
        self._files: dict[PurePosixPath, _Recording] = {}
        # (file, paging key of the next page) → the list that page continues.
        self._continuations: dict[tuple[PurePosixPath, frozenset[tuple[str, str]]], _Recording] = {}
        self._requests_sent = 0
        self.not_recorded: list[NotRecorded] = []

    def __enter__(self) -> RecordingTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    @property
    def requests_sent(self) -> int:
        """How many requests went through (retries included)."""
        return self._requests_sent

    @property
    def files(self) -> list[PurePosixPath]:
        with self._lock:
            return sorted(self._files)

    def send(self, request: Any, **kwargs: Any) -> Any:
        method = request.method.upper()
        url = request.url
        if method != "GET" and not (method == "POST" and self._is_allowed_action(url)):
            raise ValueError(f"{method} {_safe_url(url)}: the inventory recorder only reads "
                             f"(GET, or POST {', '.join(sorted(ALLOWED_POST_ACTIONS))}); refusing to send")
        response = self.inner.send(request, **kwargs)
        with self._lock:
            self._requests_sent += 1
        if response.status_code != 200:
            return response
        if kwargs.get("stream"):
            self._skip(method, url, "streamed response (not a JSON API call)")
            return response
        self._record(method, url, self._body_of(response))
        return response

    @staticmethod
    def _is_allowed_action(url: str) -> bool:
        from urllib.parse import unquote

        segments = [segment for segment in unquote(urlsplit(url).path).split("/") if segment]
        return bool(segments) and segments[-1].lower() in ALLOWED_POST_ACTIONS

    @staticmethod
    def _body_of(response: Any) -> bytes:
        # azure.core.rest responses (read() caches the content, so the SDK still sees it);
        # legacy pipeline.transport responses expose body().
        read = getattr(response, "read", None)
        if callable(read) and hasattr(response, "content"):
            read()
            return response.content
        return response.body()

    def _skip(self, method: str, url: str, reason: str) -> None:
        with self._lock:
            self.not_recorded.append(NotRecorded(method, _safe_url(url), reason))

    def _record(self, method: str, url: str, body: bytes) -> None:
        query_keys = {key.lower() for key, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
        if query_keys & SECRET_QUERY_PARAMS:
            self._skip(method, url, "the request URL carries a credential in its query; not recorded")
            return
        try:
            relpath = snapshot_relpath(method, url)
        except ValueError as exc:
            self._skip(method, url, str(exc))
            return
        try:
            document = json.loads(body) if body else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._skip(method, url, "response body is not JSON")
            return
        if document is None:
            self._skip(method, url, "empty response body")
            return
        problem = shape_problem(relpath, document)
        if problem:
            self._skip(method, url, problem)
            return
        next_link = _next_link(document)
        document = redact(document)
        page = _paging_key(url)
        is_list = isinstance(document, dict) and isinstance(document.get("value"), list)
        with self._lock:
            if page:
                recording = self._continuations.pop((relpath, page), None) or self._files.get(relpath)
                if recording is None or recording.values is None:
                    recording = _Recording(_without_next_link(document) if is_list else document, [])
                    self._files[relpath] = recording
                if is_list:
                    recording.values.extend(document["value"])
            elif is_list:
                recording = _Recording(_without_next_link(document), list(document["value"]))
                self._files[relpath] = recording
            else:
                self._files.setdefault(relpath, _Recording(document))
                return
            if next_link:
                self._continuations[(relpath, _paging_key(next_link))] = recording

    def bodies(self) -> dict[PurePosixPath, Any]:
        """Every recorded body by snapshot path (lists merged, no nextLink)."""
        with self._lock:
            return {relpath: recording.body() for relpath, recording in self._files.items()}

    def write(self, out_dir: Path) -> int:
        """Write every body under `out_dir` (which must exist); returns the number of files."""
        bodies = self.bodies()
        for relpath in sorted(bodies):
            target = Path(out_dir).joinpath(*relpath.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(bodies[relpath], indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return len(bodies)


def failure_record(failure: ListingFailure) -> dict[str, str]:
    """A failure as stored in snapshot.json: one line each, scrubbed like a body."""
    def line(text: str) -> str:
        return scrub_text(" ".join(str(text).split()))[:1000]

    return {"scope": line(failure.scope), "call": line(failure.call), "error": line(failure.error)}


def _normalized_scope(subscription_id: str, group: str | None, workspace: str | None) -> str:
    scope = f"/subscriptions/{subscription_id}"
    if group:
        scope += f"/resourceGroups/{group}"
    if workspace:
        scope += f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
    return scope


def _resolve_workspace_scopes(
    credential: TokenCredential,
    scopes: list[str],
    resource_group: str | None,
    workspace_names: list[str],
    transport: HttpTransport,
    cloud: str,
) -> tuple[list[str], list[ListingFailure]]:
    """Named workspaces → their workspace ARM-id scopes (listing a subscription when needed).

    Recording with workspace scopes makes the replay issue exactly the recorded requests (a
    `workspaces.get` per workspace) instead of a list that would name unrecorded workspaces.
    """
    from azure.ai.ml import MLClient

    wanted = {name.lower(): name for name in workspace_names}
    found: dict[str, str] = {}
    failures: list[ListingFailure] = []
    for scope in scopes:
        subscription_id, group, workspace = parse_listing_scope(scope, resource_group)
        if workspace:
            if workspace.lower() in wanted:
                found.setdefault(_normalized_scope(subscription_id, group, workspace).lower(),
                                 _normalized_scope(subscription_id, group, workspace))
            continue
        if group:
            # The ids are known without a call; a missing workspace fails in workspaces.get.
            for name in wanted.values():
                found.setdefault(_normalized_scope(subscription_id, group, name).lower(),
                                 _normalized_scope(subscription_id, group, name))
            continue
        client = MLClient(credential, subscription_id, None, enable_telemetry=False, show_progress=False,
                          cloud=cloud, transport=transport)
        for item in SdkCalls(client, "", None).workspaces(subscription_scope=True):
            name = item.entity.name
            if name.lower() in wanted:
                scope_id = _normalized_scope(subscription_id, item.entity.resource_group, name)
                found.setdefault(scope_id.lower(), scope_id)
    named = {scope.rsplit("/", 1)[-1].lower() for scope in found.values()}
    for lowered, name in wanted.items():
        if lowered not in named:
            failures.append(ListingFailure(", ".join(scopes), f"find workspace {name!r}", "not found in the scopes"))
    return sorted(found.values(), key=str.lower), failures


def record_snapshot(
    credential: TokenCredential,
    subscriptions: str | Iterable[str],
    out_dir: Path,
    resource_group: str | None = None,
    workspace_names: Iterable[str] | None = None,
    progress: ProgressCallback | None = None,
    *,
    transport: HttpTransport | None = None,
    include_run_history: bool = True,
    max_workers: int = DEFAULT_MAX_WORKERS,
    overwrite: bool = False,
    cloud: str = "AzureCloud",
) -> Inventory:
    """List the scopes live, record every response into `out_dir`, and return the `Inventory`.

    `transport` is the *inner* transport (default: azure-core's `RequestsTransport`); tests pass a
    `ReplayTransport` to record a snapshot offline. `captured_at` in ``snapshot.json`` is the
    moment the listing started (UTC); `scopes` are the normalized scopes listed (workspace ARM
    ids when `workspace_names` is given, so the replay makes the same requests); `tool_version`
    is ``aml-finops/<dagster_project.__version__>``.

    `out_dir` must not exist or be empty, unless `overwrite`. The folder is written atomically
    (a temporary sibling renamed into place). Failed calls and responses that could not be kept
    are in the returned `Inventory.failures`; the snapshot is written anyway (it is the evidence
    of what could be read).
    """
    from dagster_project import __version__

    out = Path(out_dir)
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: already exists and is not empty; choose a new folder (or overwrite)")
    say = progress or (lambda message: None)
    recorder = RecordingTransport(transport)
    scopes = [subscriptions] if isinstance(subscriptions, str) else list(subscriptions)
    started = datetime.now(UTC)
    try:
        resolve_failures: list[ListingFailure] = []
        if workspace_names is not None:
            listing_scopes, resolve_failures = _resolve_workspace_scopes(
                credential, scopes, resource_group, list(workspace_names), recorder, cloud)
            if not listing_scopes:
                raise LookupError(f"none of the workspaces {sorted(workspace_names)} was found in {scopes}")
        else:
            listing_scopes = [_normalized_scope(*parse_listing_scope(scope, resource_group)) for scope in scopes]
        say(f"recording {len(listing_scopes)} scope(s) into {out}")
        result = list_inventory(
            credential, listing_scopes, transport=recorder, include_run_history=include_run_history,
            max_workers=max_workers, progress=progress, cloud=cloud,
        )
    finally:
        if transport is None:
            recorder.close()
    failures = resolve_failures + list(result.failures) + [
        ListingFailure("recorder", f"{item.method} {item.url}", item.reason) for item in recorder.not_recorded
    ]
    inventory = build_inventory(result.workspaces, started, failures, result.resource_groups, result.subscriptions)

    temp = out.parent / f".{out.name}.recording-{uuid.uuid4().hex[:8]}"
    temp.mkdir(parents=True)
    try:
        files = recorder.write(temp)
        write_snapshot_info(temp, SnapshotInfo(started, listing_scopes, f"aml-finops/{__version__}",
                                               failures=[failure_record(f) for f in failures]))
        if out.exists():
            old = out.parent / f".{out.name}.replaced-{uuid.uuid4().hex[:8]}"
            os.replace(out, old)
            os.replace(temp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    say(f"wrote {files} response file(s) and snapshot.json to {out} ({recorder.requests_sent} requests)")
    return inventory
