"""Blob Storage and Cost Details API sources, offline, through the real SDK clients.

`RecordedAzure` is an azure-core `HttpTransport` that answers like the services do: Blob list
XML (with paging markers), ranged blob downloads (206 + Content-Range), and the Cost Details
API's long-running operation from the REST examples in azure-rest-api-specs (202 + Location +
Retry-After, then 200 with the manifest), read at test time from the shared fixtures.
"""

from __future__ import annotations

import copy
import csv
import gzip
import hashlib
import io
import json
import logging
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import duckdb
import pytest
from azure.core.pipeline.transport import HttpResponse as LegacyHttpResponse
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import case_insensitive_dict
from cost_support import EXTERNAL, totals, totals_by_currency

from dagster_project.costs.discovery import (
    ExportSource,
    UnsafeBlobNameError,
    discover,
    discover_runs,
    months_available,
    runs_for_month,
)
from dagster_project.costs.load import load_month
from dagster_project.costs.sources import (
    BlobExportSource,
    CostDetailsSource,
    SourceError,
    export_source_from_settings,
)
from dagster_project.demo.exports import write_exports
from dagster_project.demo.tenant import build_tenant
from dagster_project.inventory.replay import ReplayCredential

COST_EXAMPLES = EXTERNAL / "azure-rest-api-specs" / "costmanagement" / "2025-03-01" / "examples"
EA_ASSETS = EXTERNAL / "finops-toolkit" / "src" / "powershell" / "Tests" / "Unit" / "assets"
needs_examples = pytest.mark.skipif(not COST_EXAMPLES.is_dir(),
                                    reason=f"Cost Management REST examples absent: {COST_EXAMPLES}")
ACCOUNT = "https://finopsexports.blob.core.windows.net"
CONTAINER = "costs"
TEN = Decimal("1e-10")


# --------------------------------------------------------------------------- fake Azure ----------
class _Response(HttpResponseImpl):
    def __init__(self, request: Any, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(request=request, internal_response=io.BytesIO(body), status_code=status,
                         reason="OK" if status < 300 else "Error", headers=case_insensitive_dict(headers),
                         content_type=headers.get("Content-Type"), stream_download_generator=_chunks)
        self._body_bytes = body

    def read(self) -> bytes:
        self._content = self._body_bytes
        return self._content


class _chunks:  # noqa: N801 - plays azure-core's StreamDownloadGenerator (the SDK sets attributes on it)
    def __init__(self, pipeline: Any = None, response: Any = None, **kwargs: Any) -> None:
        body = response._body_bytes
        self._parts = iter([body[i:i + 4096] for i in range(0, len(body), 4096)])
        self.response = response
        self.pipeline = pipeline
        self.content_length = len(body)

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self._parts)


class _LegacyResponse(LegacyHttpResponse):
    def __init__(self, request: Any, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(request, None)
        self.status_code = status
        self.reason = "OK" if status < 300 else "Error"
        self.headers = case_insensitive_dict(headers)
        self.content_type = headers.get("Content-Type")
        self._body = body

    def body(self) -> bytes:
        return self._body

    def stream_download(self, pipeline: Any, **kwargs: Any):
        return iter([self._body[i:i + 4096] for i in range(0, len(self._body), 4096)] or [b""])


class RecordedAzure(HttpTransport):
    """Blob service + Cost Details API answers, as the services send them."""

    def __init__(self, blobs: dict[str, bytes] | None = None, page_size: int = 50) -> None:
        self.blobs = dict(blobs or {})  # container-relative name -> content
        self.page_size = page_size
        self.requests: list[tuple[str, str]] = []
        self.sas_blobs: dict[str, bytes] = {}  # path of a SAS link -> content
        self.lro: dict[str, Any] | None = None
        self.lro_polls = 0
        self.lro_pending_polls = 1
        self.bad_sas = False
        self.waits: list[float] = []

    def __enter__(self):
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def sleep(self, duration: float) -> None:
        """azure-core's LRO polling waits through the transport: record, don't sleep (Retry-After: 60)."""
        self.waits.append(duration)

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.requests.append((request.method, request.url))
        status, headers, body = self._answer(request)
        cls = _LegacyResponse if type(request).__module__.startswith("azure.core.pipeline") else _Response
        return cls(request, status, headers, body)

    # -- routing ------------------------------------------------------------------------------
    def _answer(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.netloc == "management.azure.com":
            return self._cost_details(request, url, query)
        if url.netloc == urlsplit(ACCOUNT).netloc:
            assert request.headers.get("Authorization", "").startswith("Bearer "), "blob calls must be authenticated"
            path = url.path.lstrip("/")
            if path == CONTAINER and query.get("comp") == "list":
                return self._list(query)
            name = path[len(CONTAINER) + 1:]
            from urllib.parse import unquote

            return self._download(request, self.blobs.get(unquote(name)))
        if url.netloc == "ccmreportstorageeastus.blob.core.windows.net":
            assert "sig" in query, "report blobs are read through their SAS link"
            if self.bad_sas:
                return 403, {"x-ms-error-code": "AuthenticationFailed", "Content-Type": "application/xml"}, (
                    b"<?xml version='1.0' encoding='utf-8'?><Error><Code>AuthenticationFailed</Code>"
                    b"<Message>Signature did not match.</Message></Error>")
            return self._download(request, self.sas_blobs.get(url.path))
        raise AssertionError(f"unexpected request {request.method} {request.url}")

    def _list(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        prefix = query.get("prefix", "")
        names = sorted(n for n in self.blobs if n.startswith(prefix))
        start = int(query.get("marker", "0") or 0)
        page = names[start:start + self.page_size]
        nxt = str(start + self.page_size) if start + self.page_size < len(names) else ""
        stamp = format_datetime(datetime(2026, 9, 2, 6, 0, tzinfo=UTC), usegmt=True)
        items = "".join(
            f"<Blob><Name>{escape(n)}</Name><Properties><Last-Modified>{stamp}</Last-Modified>"
            f"<Etag>0x8D{hashlib.md5(n.encode()).hexdigest()[:12].upper()}</Etag>"
            f"<Content-Length>{len(self.blobs[n])}</Content-Length>"
            f"<Content-Type>application/octet-stream</Content-Type><BlobType>BlockBlob</BlobType>"
            f"</Properties><Metadata /></Blob>" for n in page)
        xml = (f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="{ACCOUNT}/" '
               f'ContainerName="{CONTAINER}"><Prefix>{escape(prefix)}</Prefix>'
               f"<MaxResults>{self.page_size}</MaxResults><Blobs>{items}</Blobs>"
               f"<NextMarker>{nxt}</NextMarker></EnumerationResults>")
        return 200, {"Content-Type": "application/xml"}, xml.encode()

    def _download(self, request: Any, content: bytes | None) -> tuple[int, dict[str, str], bytes]:
        if content is None:
            return 404, {"x-ms-error-code": "BlobNotFound", "Content-Type": "application/xml"}, (
                b"<?xml version='1.0' encoding='utf-8'?><Error><Code>BlobNotFound</Code>"
                b"<Message>The specified blob does not exist.</Message></Error>")
        headers = {"Content-Type": "application/octet-stream", "ETag": '"0x8DTEST"',
                   "Last-Modified": "Wed, 02 Sep 2026 06:00:00 GMT", "x-ms-blob-type": "BlockBlob",
                   "Accept-Ranges": "bytes"}
        rng = request.headers.get("x-ms-range") or request.headers.get("Range")
        if rng:
            m = re.match(r"bytes=(\d+)-(\d*)", rng)
            start, end = int(m.group(1)), int(m.group(2) or len(content) - 1)
            if len(content) == 0:
                return 416, {"x-ms-error-code": "InvalidRange", "Content-Range": "bytes */0"}, b""
            end = min(end, len(content) - 1)
            part = content[start:end + 1]
            headers |= {"Content-Range": f"bytes {start}-{end}/{len(content)}", "Content-Length": str(len(part))}
            return 206, headers, part
        headers["Content-Length"] = str(len(content))
        return 200, headers, content

    def _cost_details(self, request: Any, url: Any, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        assert self.lro is not None, "no Cost Details recording loaded"
        assert query.get("api-version"), "ARM calls carry an api-version"
        example = self.lro["create"]
        if request.method == "POST" and url.path.endswith("/generateCostDetailsReport"):
            self.lro["request_body"] = json.loads(request.body if isinstance(request.body, (bytes, str))
                                                  else request.content)
            return 202, {k: str(v) for k, v in example["responses"]["202"]["headers"].items()}, b""
        if request.method == "GET" and "/costDetailsOperationResults/" in url.path:
            self.lro_polls += 1
            results = self.lro["results"]
            if self.lro_polls <= self.lro_pending_polls:  # still generating: 202 again
                return 202, {k: str(v) for k, v in results["responses"]["202"]["headers"].items()}, b""
            body = self.lro["body"]
            return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
        raise AssertionError(f"unexpected ARM request {request.method} {request.url}")


# --------------------------------------------------------------------------- helpers -------------
def q(value: str) -> Decimal:
    from decimal import ROUND_HALF_UP

    return Decimal(value).quantize(TEN, rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tenant = build_tenant(seed=7, months=2)
    out = tmp_path_factory.mktemp("exports")
    return tenant, write_exports(tenant, out, rows_per_part=700)


def _container_of(root: Path, prefix: str = "exports") -> dict[str, bytes]:
    """Every file under a local export root, named as Azure names blobs in the container."""
    return {(f"{prefix}/" if prefix else "") + p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file()}


def _blob_source(transport: RecordedAzure, root_path: str = "exports", **kwargs: Any) -> BlobExportSource:
    return BlobExportSource(ACCOUNT, CONTAINER, root_path, ReplayCredential(), transport=transport, **kwargs)


# --------------------------------------------------------------------------- Blob source ---------
def test_blob_source_loads_like_the_local_folder(demo):
    tenant, summary = demo
    transport = RecordedAzure(_container_of(summary.root), page_size=7)  # forces list paging
    # Small download chunks: every data file arrives in several ranged GETs, streamed to disk.
    with _blob_source(transport, max_single_get_size=8 * 1024, max_chunk_get_size=8 * 1024) as source:
        assert isinstance(source, ExportSource)
        assert months_available(source) == tenant.months == months_available(summary.root)
        for month in tenant.months:
            runs = runs_for_month(source, month)
            local_runs = runs_for_month(summary.root, month)
            # Newest run wins, the same runs as the local folder (the month-to-date run loses).
            assert [(r.export_name, r.run_id) for r in runs] == [(r.export_name, r.run_id) for r in local_runs]
            remote_con, local_con = duckdb.connect(), duckdb.connect()
            remote = load_month(remote_con, runs, month)
            local = load_month(local_con, local_runs, month)
            truth = summary.months[month]
            assert totals_by_currency(remote_con, month) == totals_by_currency(local_con, month) == truth.totals()
            assert remote.row_count_mismatches() == [] and remote.rows_rejected == 0
            assert remote.source_files == local.source_files
            assert remote_con.execute("SELECT count(*) FROM cost_line_items l WHERE source_file LIKE '%.partial' "
                                      "OR source_file LIKE '/%'").fetchone()[0] == 0
        twice = tenant.months[-2]
        assert len(discover_runs(source, twice)) > len(runs_for_month(source, twice))
        cache = source.cache_dir
        downloaded = {p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file()}
        # Only the newest runs' data files were downloaded (manifests are read in memory).
        loaded = {b.relative for m in tenant.months for r in runs_for_month(source, m) for b in r.blobs}
        assert downloaded == loaded
    assert not cache.exists(), "the download cache is removed on close"
    ranged = [u for m, u in transport.requests if m == "GET" and "part_" in u]
    assert len(ranged) > len(loaded), "data files are streamed in several ranged requests"
    assert any("marker=" in u for _, u in transport.requests), "the listing was paged"


def test_blob_source_refuses_dotdot_and_missing_blobs(demo, tmp_path):
    tenant, summary = demo
    month = tenant.months[0]
    blobs = _container_of(summary.root)
    name = next(n for n in sorted(blobs) if n.endswith("manifest.json") and f"/{month:%Y%m%d}-" in n)
    manifest = json.loads(blobs[name])
    evil = copy.deepcopy(manifest)
    evil["blobs"][0]["blobName"] = "exports/../secrets/part_0_0001.csv"
    with _blob_source(RecordedAzure({**blobs, name: json.dumps(evil).encode()})) as source:
        with pytest.raises(UnsafeBlobNameError, match=r"manifest\.json.*\.\."):
            runs_for_month(source, month)
    missing = copy.deepcopy(manifest)
    missing["blobs"][0]["blobName"] = manifest["blobs"][0]["blobName"].replace("part_0", "part_9")
    with _blob_source(RecordedAzure({**blobs, name: json.dumps(missing).encode()})) as source:
        # A run still being delivered is skipped with a warning naming it, never loaded half.
        found = discover(source, month)
        assert name.removeprefix("exports/") not in [r.manifest_relative for r in found.runs]
        assert any("listed but missing" in w and "part_9" in w for w in found.warnings(month))


def test_blob_source_legacy_layout_and_root_path(tmp_path):
    """Manifest-less EA export at the container root (root_path ''); time from the listing."""
    tenant = build_tenant(seed=3, months=1)
    summary = write_exports(tenant, tmp_path, schema="ea-amortized")
    month = tenant.months[0]
    with _blob_source(RecordedAzure(_container_of(summary.root, prefix="")), root_path="") as source:
        runs = runs_for_month(source, month)
        assert len(runs) == 2 and {r.run_id for r in runs} == {None}
        assert runs[0].submitted_time == datetime(2026, 9, 2, 6, 0, tzinfo=UTC)
        con = duckdb.connect()
        result = load_month(con, runs, month)
        truth = summary.months[month]
        assert result.rows_rejected == 0
        assert {c: t[:2] for c, t in totals_by_currency(con, month).items()} == {
            c: t[:2] for c, t in truth.totals().items()}
        assert result.row_count_mismatches() == []


def test_export_source_from_settings(tmp_path):
    assert export_source_from_settings("local", path=tmp_path).root == tmp_path
    source = export_source_from_settings("blob", account_url=ACCOUNT, container=CONTAINER, root_path="/exports/",
                                         credential=ReplayCredential(), transport=RecordedAzure())
    assert isinstance(source, BlobExportSource) and source.root_path == "exports"
    source.close()
    with pytest.raises(ValueError, match="container"):
        export_source_from_settings("blob", account_url=ACCOUNT, credential=ReplayCredential())
    with pytest.raises(ValueError, match="unknown export source"):
        export_source_from_settings("ftp")


# --------------------------------------------------------------------------- Cost Details API ----
def _examples() -> dict[str, Any]:
    create = json.loads((COST_EXAMPLES / "GenerateCostDetailsReportBySubscriptionAndTimePeriod.json").read_text())
    results = json.loads((COST_EXAMPLES / "CostDetailsOperationResultsBySubscriptionScope.json").read_text())
    return {"create": create, "results": results, "body": copy.deepcopy(results["responses"]["200"]["body"])}


def _lro_transport(reports: list[bytes], compress: bool = False) -> RecordedAzure:
    transport = RecordedAzure()
    transport.lro = _examples()
    manifest = transport.lro["body"]["manifest"]
    template = manifest["blobs"][0]["blobLink"]
    blobs = []
    for i, content in enumerate(reports):
        link = template.replace("/00000/", f"/0000{i}/")
        transport.sas_blobs[urlsplit(link).path] = content
        blobs.append({"blobLink": link, "byteCount": len(content)})
    manifest["blobs"], manifest["blobCount"], manifest["compressData"] = blobs, len(blobs), compress
    return transport


def _ea_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@needs_examples
@pytest.mark.skipif(not EA_ASSETS.is_dir(), reason=f"EA samples absent: {EA_ASSETS}")
def test_cost_details_source_lro_and_load(caplog):
    src = EA_ASSETS / "EA_ActualCost_Small.csv"
    data = src.read_bytes()
    # Two report blobs (the API splits large reports): the sample, and the sample again gzip'd.
    transport = _lro_transport([data, data])
    month = date(2023, 9, 1)
    caplog.set_level(logging.DEBUG)
    with CostDetailsSource("subscriptions/00000000-0000-0000-0000-000000000000", ReplayCredential(), month,
                           transport=transport) as source:
        assert isinstance(source, ExportSource)
        runs = runs_for_month(source, month)
        assert len(runs) == 1 and runs[0].export_name == "cost-details-actualcost"
        assert runs[0].run_id == transport.lro["body"]["name"] and len(runs[0].blobs) == 2
        # The LRO: POST → 202 (Location, Retry-After: 60) → poll 202 → poll 200; Retry-After honoured.
        assert transport.lro["request_body"] == {"metric": "ActualCost",
                                                 "timePeriod": {"start": "2023-09-01", "end": "2023-09-30"}}
        assert transport.lro_polls == 2 and transport.waits and all(w == 60 for w in transport.waits)
        con = duckdb.connect()
        result = load_month(con, runs, month)
        rows = _ea_rows(src)
        cost = sum((q(r["Cost"]) for r in rows), Decimal(0))
        purchases = sum((q(r["Cost"]) for r in rows if r["ChargeType"] == "Purchase"
                         and r["PricingModel"] in ("Reservation", "SavingsPlan")), Decimal(0))
        assert totals(con, month) == (2 * len(rows), 2 * (cost - purchases), 2 * cost)
        assert {b.source_schema for b in result.blobs} == {"ea-cost"} and result.rows_rejected == 0
        files = {r[0] for r in con.execute("SELECT DISTINCT source_file FROM cost_line_items").fetchall()}
        assert files == {f"cost-details-actualcost/20230901-20230930/{runs[0].run_id}/part_{i}.csv" for i in (0, 1)}
        assert not any("sig=" in f for f in files)
        cache = source.cache_dir
    assert not cache.exists()
    assert all("sig=" not in rec.getMessage() for rec in caplog.records if not rec.name.startswith("azure"))
    # The report blobs are fetched through their SAS links, without the ARM bearer token.
    assert sum(1 for _, u in transport.requests if "ccmreportstorage" in u) >= 2


@needs_examples
def test_cost_details_amortized_mca_gzip():
    """The API returns MCA (camelCase) details for MCA scopes; compressed reports are gzip CSV."""
    header = ["invoiceId", "billingAccountId", "date", "serviceFamily", "meterCategory", "productName",
              "quantity", "unitOfMeasure", "effectivePrice", "costInBillingCurrency", "billingCurrency",
              "subscriptionId", "resourceGroupName", "resourceId", "resourceLocation", "chargeType",
              "pricingModel", "payGPrice", "tags", "additionalInfo"]
    rows = [
        ["", "acct", "09/01/2026", "Compute", "Virtual Machines", "NC6s v3", "24", "1 Hour", "3.06",
         "73.44", "EUR", "AAAA0000-0000-0000-0000-000000000001", "RG-ML",
         "/subscriptions/AAAA0000-0000-0000-0000-000000000001/resourceGroups/RG-ML/providers/"
         "Microsoft.MachineLearningServices/workspaces/WS1", "westeurope", "Usage", "OnDemand", "3.06",
         '{"project":"fraud"}', '{"ServiceType":"Standard_NC6s_v3"}'],
        ["", "acct", "9/2/2026", "Compute", "Virtual Machines", "NC6s v3", "1.2E+1", "1 Hour", "0",
         "0", "EUR", "AAAA0000-0000-0000-0000-000000000001", "rg-ml", "", "westeurope", "Usage",
         "Reservation", "3.06", "", ""],
    ]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    transport = _lro_transport([gzip.compress(buf.getvalue().encode("utf-8-sig"))], compress=True)
    month = date(2026, 9, 1)
    with CostDetailsSource("providers/Microsoft.Billing/billingAccounts/acct", ReplayCredential(), month,
                           transport=transport, metric="AmortizedCost") as source:
        runs = runs_for_month(source, month)
        assert runs[0].blobs[0].relative.endswith(".csv.gz")
        con = duckdb.connect()
        result = load_month(con, runs, month)
    assert result.rows_rejected == 0 and {b.source_schema for b in result.blobs} == {"mca"}
    got = con.execute("SELECT billed_cost, effective_cost, billing_currency, resource_group, sub_account_id, "
                      "consumed_quantity, charge_period_start, tags, repairs FROM cost_line_items "
                      "ORDER BY source_row").fetchall()
    assert [g[:7] for g in got] == [
        (Decimal("73.44"), Decimal("73.44"), "EUR", "rg-ml", "aaaa0000-0000-0000-0000-000000000001",
         Decimal("24"), datetime(2026, 9, 1)),
        (Decimal("0"), Decimal("0"), "EUR", "rg-ml", "aaaa0000-0000-0000-0000-000000000001",
         Decimal("12"), datetime(2026, 9, 2)),
    ]
    assert got[0][7] == '{"project":"fraud"}' and got[1][7] == "{}"
    assert "date_mdy" in got[0][8] and "scientific" in got[1][8]


@needs_examples
def test_cost_details_sas_never_leaks():
    transport = _lro_transport([b"x"])
    transport.bad_sas = True
    month = date(2026, 9, 1)
    with CostDetailsSource("subscriptions/00000000-0000-0000-0000-000000000000", ReplayCredential(), month,
                           transport=transport) as source:
        runs = runs_for_month(source, month)
        with pytest.raises(SourceError) as err:
            load_month(duckdb.connect(), runs, month)
    assert "sig=" not in str(err.value) and "part_0.csv" in str(err.value)
    assert "ccmreportstorageeastus.blob.core.windows.net/armreports" in str(err.value)


# ------------------------------------------------------------- the CLI on a Blob URL ------------
def test_cli_runs_the_pipeline_on_a_blob_url(tmp_path, monkeypatch, capsys):
    """`aml-finops run --exports https://<account>/<container>/<root>` through the real
    azure-storage-blob client; only the network is replaced, by the recorded container."""
    import json as json_module

    import duckdb

    from dagster_project.cli import main
    from dagster_project.costs import sources
    from dagster_project.demo.generate import generate_demo

    paths = generate_demo(tmp_path / "tenant", months=1)
    transport = RecordedAzure(_container_of(paths.exports, prefix="finops/exports"))
    real_factory = sources.export_source_from_settings

    def offline(kind, **settings):
        assert (kind, settings["account_url"], settings["container"], settings["root_path"]) == (
            "blob", ACCOUNT, CONTAINER, "finops/exports")
        return real_factory(kind, credential=ReplayCredential(), transport=transport, **settings)

    monkeypatch.setattr(sources, "export_source_from_settings", offline)
    code = main(["run", "--exports", f"{ACCOUNT}/{CONTAINER}/finops/exports", "--inventory", str(paths.inventory),
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    expected = json_module.loads(paths.expected.read_text())["months"]["2026-10-01"]
    con = duckdb.connect(str(tmp_path / "out" / "finops.duckdb"), read_only=True)
    try:
        totals = dict(con.execute("SELECT billing_currency, sum(effective_cost) FROM cost_allocation "
                                  "GROUP BY 1").fetchall())
        [(n,)] = con.execute("SELECT count(*) FROM cost_line_items").fetchall()
    finally:
        con.close()
    assert totals == {c: Decimal(t["effective_cost"]) for c, t in expected["currencies"].items()}
    assert n == expected["line_items"]
