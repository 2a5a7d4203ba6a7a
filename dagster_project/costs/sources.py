"""Remote export sources behind the `ExportSource` interface (docs/ingestion.md).

* `BlobExportSource`: exports written by Cost Management to Azure Blob Storage / ADLS Gen2, read
  through the real `azure.storage.blob.ContainerClient` (`DefaultAzureCredential` in live runs).
  Listing and manifests come straight from the service; data files are streamed, chunk by chunk,
  into a per-source temporary cache folder (DuckDB reads local files) the first time the load asks
  for them, so only the runs actually loaded are downloaded. `close()` removes the cache.
* `CostDetailsSource`: the Cost Details API (`azure-mgmt-costmanagement`
  `generate_cost_details_report.begin_create_operation`) for small scopes. The long-running
  operation (202 + `Location` + `Retry-After`, then 200 with a manifest of `blobs[].blobLink`) is
  run once, on first use; the report blobs are downloaded through SAS links with
  `BlobClient.from_blob_url` and presented as **one export run** for the month:
  ``cost-details-<metric>/<YYYYMMDD-YYYYMMDD>/<operation>/manifest.json`` + ``part_<n>.csv``. The
  schema is detected from the report's header like any export (EA / MCA usage-details columns).
  SAS links are credentials: they are never logged, persisted or put in an error message (only
  the link without its query string is).

No Dagster here: resources and CLI flags wrap these classes (`export_source_from_settings`).
"""

from __future__ import annotations

import calendar
import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dagster_project.costs.discovery import LocalFolderSource, normalize_blob_name

log = logging.getLogger(__name__)

# ADLS Gen2 (hierarchical namespace) lists directories as zero-length blobs with this metadata.
_FOLDER_METADATA = "hdi_isfolder"


class SourceError(RuntimeError):
    """A remote source could not be read (the message never carries a SAS token)."""


def redact_url(url: str) -> str:
    """The URL without its query string (SAS tokens live there)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _client_kwargs(transport: Any, extra: dict[str, Any]) -> dict[str, Any]:
    kwargs = dict(extra)
    if transport is not None:
        kwargs["transport"] = transport
    return kwargs


class _DownloadCache:
    """A temporary folder holding downloaded blobs under their relative paths."""

    def __init__(self, prefix: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=prefix)).resolve()
        self._lock = threading.Lock()

    def path_for(self, relative: str) -> Path:
        rel = normalize_blob_name(relative)  # refuses '..', absolute paths and URLs
        target = (self.root / rel).resolve()
        if self.root not in target.parents:
            raise ValueError(f"{relative!r} resolves outside the download cache")
        return target

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class BlobExportSource:
    """Cost Management exports in a Blob Storage / ADLS Gen2 container, under `root_path`.

    `account_url` like ``https://<account>.blob.core.windows.net`` (the ``dfs`` endpoint of an ADLS
    Gen2 account also works: give the ``blob`` one, the data is the same), `container`, and
    `root_path` the export's root folder (``rootFolderPath`` of the export; ``""`` for the
    container root). `credential`: ``DefaultAzureCredential()`` in live runs. `transport` and
    `client_kwargs` go to the SDK client (tests pass a recorded transport).
    """

    def __init__(self, account_url: str, container: str, root_path: str = "", credential: Any = None,
                 transport: Any = None, **client_kwargs: Any) -> None:
        from azure.storage.blob import ContainerClient

        self.account_url = account_url
        self.container = container
        self.root_path = normalize_blob_name(root_path.strip().strip("/")) if root_path and root_path.strip("/ ") else ""
        self._client = ContainerClient(account_url, container, credential=credential,
                                       **_client_kwargs(transport, client_kwargs))
        self._cache = _DownloadCache("aml-finops-blob-")
        self._info: dict[str, tuple[datetime | None, int | None]] = {}

    # -- ExportSource -------------------------------------------------------------------------
    def list_files(self) -> Iterator[str]:
        prefix = f"{self.root_path}/" if self.root_path else None
        for blob in self._client.list_blobs(name_starts_with=prefix, include=["metadata"]):
            if (blob.metadata or {}).get(_FOLDER_METADATA) == "true":
                continue
            rel = blob.name[len(prefix):] if prefix else blob.name
            if not rel or rel.endswith("/"):
                continue
            modified = blob.last_modified
            if modified is not None and modified.tzinfo is None:
                modified = modified.replace(tzinfo=UTC)
            self._info[rel] = (modified.astimezone(UTC) if modified else None, blob.size)
            yield rel

    def read_bytes(self, relative: str) -> bytes:
        """A small file (a manifest), read into memory."""
        return self._client.download_blob(self._blob_name(relative)).readall()

    def local_path(self, relative: str) -> Path | None:
        """Download the blob to the cache (once) by streaming it chunk by chunk; return the path."""
        target = self._cache.path_for(relative)
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        downloader = self._client.download_blob(self._blob_name(relative))
        with open(partial, "wb") as fh:
            for chunk in downloader.chunks():
                fh.write(chunk)
        partial.replace(target)
        return target

    # -- extras ---------------------------------------------------------------------------------
    def file_info(self, relative: str) -> tuple[datetime | None, int | None]:
        """Last-modified time (UTC) and size from the listing (legacy manifest-less runs)."""
        return self._info.get(relative, (None, None))

    @property
    def cache_dir(self) -> Path:
        return self._cache.root

    def _blob_name(self, relative: str) -> str:
        rel = normalize_blob_name(relative)
        return f"{self.root_path}/{rel}" if self.root_path else rel

    def close(self) -> None:
        """Remove the download cache and close the client."""
        self._cache.close()
        self._client.close()

    def __enter__(self) -> BlobExportSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_METRICS = {"actualcost": "ActualCost", "amortizedcost": "AmortizedCost"}


class CostDetailsSource:
    """One month of cost details for `scope`, generated by the Cost Details API.

    `scope` like ``subscriptions/<id>`` or ``providers/Microsoft.Billing/billingAccounts/<id>``;
    `metric` ``ActualCost`` or ``AmortizedCost``. The report is generated on first use and its
    blobs are downloaded to a temporary cache; `close()` removes it. `polling_interval` is the
    delay used when the service sends no ``Retry-After``.
    """

    def __init__(self, scope: str, credential: Any, month: date, transport: Any = None,
                 metric: str = "ActualCost", base_url: str | None = None, polling_interval: float = 30,
                 **client_kwargs: Any) -> None:
        from azure.mgmt.costmanagement import CostManagementClient

        key = metric.replace(" ", "").lower()
        if key not in _METRICS:
            raise ValueError(f"metric must be ActualCost or AmortizedCost, not {metric!r}")
        self.scope = scope.strip().strip("/")
        self.metric = _METRICS[key]
        self.month = month.replace(day=1)
        self._transport = transport
        self._client_kwargs = client_kwargs
        kwargs = _client_kwargs(transport, client_kwargs)
        if base_url:
            kwargs["base_url"] = base_url
        self._client = CostManagementClient(credential, polling_interval=polling_interval, **kwargs)
        self._cache = _DownloadCache("aml-finops-costdetails-")
        self._files: dict[str, bytes | str] | None = None  # relative -> manifest bytes | SAS link
        self._sizes: dict[str, int | None] = {}

    @property
    def export_name(self) -> str:
        return f"cost-details-{self.metric.lower()}"

    @property
    def range_folder(self) -> str:
        last = calendar.monthrange(self.month.year, self.month.month)[1]
        return f"{self.month:%Y%m%d}-{self.month.replace(day=last):%Y%m%d}"

    def _generate(self) -> dict[str, bytes | str]:
        if self._files is not None:
            return self._files
        last = calendar.monthrange(self.month.year, self.month.month)[1]
        body = {"metric": self.metric,
                "timePeriod": {"start": self.month.isoformat(), "end": self.month.replace(day=last).isoformat()}}
        submitted = datetime.now(UTC)
        poller = self._client.generate_cost_details_report.begin_create_operation(self.scope, body)
        result = poller.result()
        status = (getattr(result, "status", None) or "").lower()
        if status and status != "completed":
            raise SourceError(f"cost details report for {self.scope} {self.month:%Y-%m} ended with status {status!r}")
        manifest = getattr(result, "manifest", None)
        if manifest is None:  # 204: no data for the period
            blobs_raw = []
        else:
            blobs_raw = list(manifest.blobs or [])
            fmt = (manifest.data_format or "Csv").lower()
            if fmt != "csv":
                raise SourceError(f"cost details report format {manifest.data_format!r} is not supported")
        compressed = bool(manifest is not None and manifest.compress_data)
        operation = normalize_blob_name(result.name or "report") if getattr(result, "name", None) else "report"
        run_folder = f"{self.export_name}/{self.range_folder}/{operation}"
        files: dict[str, bytes | str] = {}
        entries = []
        for index, blob in enumerate(blobs_raw):
            rel = f"{run_folder}/part_{index}.csv" + (".gz" if compressed else "")
            files[rel] = blob.blob_link
            self._sizes[rel] = blob.byte_count
            entries.append({"blobName": rel, "byteCount": blob.byte_count})
        # A synthesized export manifest: the discovery code treats the report like an export run.
        manifest_doc = {
            "manifestVersion": getattr(manifest, "manifest_version", None) if manifest is not None else None,
            "blobCount": len(entries),
            "exportConfig": {"exportName": self.export_name, "type": self.metric,
                             "dataVersion": "cost-details"},
            "deliveryConfig": {"rootFolderPath": ""},
            "runInfo": {"runId": operation,
                        "submittedTime": submitted.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
            "blobs": entries,
        }
        files[f"{run_folder}/manifest.json"] = json.dumps(manifest_doc).encode()
        log.info("cost details report %s for %s %s: %d blob(s)", operation, self.scope, self.month, len(entries))
        self._files = files
        return files

    # -- ExportSource -------------------------------------------------------------------------
    def list_files(self) -> Iterator[str]:
        yield from sorted(self._generate())

    def read_bytes(self, relative: str) -> bytes:
        value = self._entry(relative)
        if isinstance(value, bytes):
            return value
        return self.local_path(relative).read_bytes()

    def local_path(self, relative: str) -> Path | None:
        value = self._entry(relative)
        target = self._cache.path_for(relative)
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, bytes):
            target.write_bytes(value)
            return target
        from azure.core.exceptions import AzureError
        from azure.storage.blob import BlobClient

        partial = target.with_name(target.name + ".partial")
        try:
            # The SAS in the link is the credential; the transport is shared with the ARM client.
            blob = BlobClient.from_blob_url(value, **_client_kwargs(self._transport, self._client_kwargs))
            with open(partial, "wb") as fh:
                for chunk in blob.download_blob().chunks():
                    fh.write(chunk)
        except AzureError as exc:
            partial.unlink(missing_ok=True)
            # azure-core messages can echo the request URL; never let the SAS query through.
            message = str(exc).replace(value, redact_url(value))
            if "sig=" in message:
                message = type(exc).__name__
            raise SourceError(f"{relative}: download of {redact_url(value)} failed ({message})") from None
        partial.replace(target)
        return target

    def file_info(self, relative: str) -> tuple[datetime | None, int | None]:
        return None, self._sizes.get(relative)

    def _entry(self, relative: str) -> bytes | str:
        files = self._generate()
        try:
            return files[normalize_blob_name(relative)]
        except KeyError:
            raise FileNotFoundError(relative) from None

    @property
    def cache_dir(self) -> Path:
        return self._cache.root

    def close(self) -> None:
        self._cache.close()
        self._client.close()

    def __enter__(self) -> CostDetailsSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SOURCE_KINDS = ("local", "blob", "cost-details")


def export_source_from_settings(kind: str, **settings: Any):
    """Build an export source from configuration (`finops.yaml` / CLI flags).

    * ``local``: ``path``;
    * ``blob``: ``account_url``, ``container``, ``root_path`` (default ``""``), optional
      ``credential`` (default ``DefaultAzureCredential()``), ``transport``;
    * ``cost-details``: ``scope``, ``month`` (date or ``YYYY-MM``), optional ``metric``
      (``ActualCost``), ``credential``, ``transport``.
    """
    kind = kind.strip().lower().replace("_", "-")
    if kind == "local":
        return LocalFolderSource(Path(settings["path"]))
    if kind not in SOURCE_KINDS:
        raise ValueError(f"unknown export source {kind!r}; choose one of {', '.join(SOURCE_KINDS)}")
    credential = settings.pop("credential", None)
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    if kind == "blob":
        missing = [k for k in ("account_url", "container") if not settings.get(k)]
        if missing:
            raise ValueError(f"blob export source needs {', '.join(missing)}")
        return BlobExportSource(settings.pop("account_url"), settings.pop("container"),
                                settings.pop("root_path", "") or "", credential, **settings)
    month = settings.pop("month")
    if isinstance(month, str):
        month = date.fromisoformat(month if len(month) > 7 else f"{month}-01")
    return CostDetailsSource(settings.pop("scope"), credential, month, **settings)
