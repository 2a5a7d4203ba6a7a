"""Manifest-driven ingestion of Cost Management exports into DuckDB (docs/ingestion.md)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest
from cost_support import EXTERNAL, totals, totals_by_currency

from dagster_project.costs.discovery import (
    ExportDiscoveryError,
    UnsafeBlobNameError,
    discover_runs,
    months_available,
    normalize_blob_name,
    runs_for_month,
)
from dagster_project.costs.load import CostLoadError, load_month
from dagster_project.costs.schemas import UnknownSchemaError, detect_schema
from dagster_project.demo.exports import FOCUS_1_2_COLUMNS, write_exports
from dagster_project.demo.tenant import build_tenant

needs_external = pytest.mark.skipif(not EXTERNAL.is_dir(), reason=f"external fixtures absent: {EXTERNAL}")
TEN = Decimal("1e-10")
PUBLISHED_V1 = [
    "billing_month", "charge_period_start", "charge_period_end", "billed_cost", "effective_cost", "list_cost",
    "billing_currency", "charge_category", "charge_class", "resource_id", "resource_name", "resource_type",
    "service_name", "sub_account_id", "resource_group", "region", "meter_category", "charge_description",
    "consumed_quantity", "consumed_unit", "tags", "additional_info", "source_schema", "source_file", "source_row",
]
PUBLISHED_V1_1 = [*PUBLISHED_V1, "repairs"]  # version 1.1 appended `repairs` at the end
# version 1.2 appended the meter, the commitment discount and the allocation rule name
PUBLISHED = [*PUBLISHED_V1_1, "sku_meter", "commitment_discount_id", "commitment_discount_name",
             "commitment_discount_type", "commitment_discount_status", "cost_allocation_rule_name"]


def q(value: str) -> Decimal:
    """What DECIMAL(38,10) keeps of a text amount: rounded half away from zero."""
    return Decimal(value).quantize(TEN, rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def demo(demo_tenant, tmp_path_factory):
    tenant = demo_tenant
    out = tmp_path_factory.mktemp("exports")
    return tenant, write_exports(tenant, out, rows_per_part=500)


def _copy_root(summary, tmp_path: Path) -> Path:
    root = tmp_path / "exports"
    shutil.copytree(summary.root, root)
    return root


def _independent_newest(root: Path, month: date) -> list[Path]:
    """Newest run per export for `month`, decided from the manifests without the product code."""
    best: dict[str, tuple[str, Path]] = {}
    for manifest in root.glob(f"*/{month:%Y%m%d}-*/*/manifest.json"):
        m = json.loads(manifest.read_text())
        export = manifest.relative_to(root).parts[0]
        key = (m["runInfo"]["submittedTime"], manifest)
        if export not in best or key > best[export]:
            best[export] = key
    files = []
    for _, manifest in best.values():
        m = json.loads(manifest.read_text())
        files += [root.parent / b["blobName"] for b in m["blobs"]]
    return files


def _sum_files(files: list[Path]) -> tuple[int, Decimal, Decimal]:
    n, eff, billed = 0, Decimal(0), Decimal(0)
    for path in files:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                n += 1
                eff += q(row["EffectiveCost"])
                billed += q(row["BilledCost"])
    return n, eff, billed


def _sum_files_by_currency(files: list[Path]) -> dict[str, tuple[int, Decimal, Decimal]]:
    """Per billing currency (amounts of two currencies are never added): rows, effective, billed."""
    out: dict[str, tuple[int, Decimal, Decimal]] = {}
    for path in files:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                n, eff, billed = out.get(row["BillingCurrency"], (0, Decimal(0), Decimal(0)))
                out[row["BillingCurrency"]] = (n + 1, eff + q(row["EffectiveCost"]), billed + q(row["BilledCost"]))
    return dict(sorted(out.items()))


def test_demo_months_match_independent_sums(demo, tmp_path):
    tenant, summary = demo
    con = duckdb.connect(str(tmp_path / "finops.duckdb"))
    assert months_available(summary.root) == tenant.months
    for month in tenant.months:
        result = load_month(con, runs_for_month(summary.root, month), month)
        expected = _sum_files_by_currency(_independent_newest(summary.root, month))
        assert totals_by_currency(con, month) == expected
        assert {c: (t.line_items, t.effective_cost, t.billed_cost) for c, t in result.totals.items()} == expected
        assert len(expected) == 2, "the demo bills in two currencies"
        assert expected == summary.months[month].totals()
        assert result.rows_rejected == 0 and result.row_count_mismatches() == []
    # The superseded month-to-date run is not counted.
    twice = tenant.months[-2]
    all_files = [p for p in summary.root.glob(f"*/{twice:%Y%m%d}-*/*/part_*.csv")]
    assert _sum_files(all_files)[0] > totals(con, twice)[0]
    assert len(discover_runs(summary.root, twice)) == 4 and len(runs_for_month(summary.root, twice)) == 2
    # Published columns, exactly and in order.
    cols = [r[0] for r in con.execute("DESCRIBE cost_line_items").fetchall()]
    assert cols == PUBLISHED
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE cost_line_items)").fetchall())
    assert types["billed_cost"] == "DECIMAL(38,10)" and types["source_row"] == "BIGINT"
    # Normalisation: lower-case ids and resource groups, subscription GUID, JSON objects.
    bad = con.execute("""
        SELECT count(*) FROM cost_line_items
        WHERE resource_id <> lower(resource_id) OR resource_group <> lower(resource_group)
           OR sub_account_id LIKE '%/%' OR NOT json_valid(tags) OR NOT starts_with(tags, '{')
    """).fetchone()[0]
    assert bad == 0
    subs = {r[0] for r in con.execute("SELECT DISTINCT sub_account_id FROM cost_line_items").fetchall()}
    assert subs == {s.id for s in tenant.subscriptions}
    first = con.execute("SELECT source_file, source_row FROM cost_line_items ORDER BY source_file, source_row "
                        "LIMIT 1").fetchone()
    assert first[1] == 1 and first[0].startswith("aml-finops-focus-") and first[0].endswith(".csv")


def test_source_row_points_at_the_file_row(demo, tmp_path):
    tenant, summary = demo
    con = duckdb.connect()
    month = tenant.months[0]
    load_month(con, runs_for_month(summary.root, month), month)
    for source_file, source_row, billed in con.execute(
            "SELECT source_file, source_row, billed_cost FROM cost_line_items USING SAMPLE 20 ROWS").fetchall():
        with open(summary.root / source_file, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert q(rows[source_row - 1]["BilledCost"]) == billed


def _first_run(root: Path, month: date) -> Path:
    return sorted(root.glob(f"*/{month:%Y%m%d}-*/*/manifest.json"))[0].parent


def test_bad_rows_go_to_rejects(demo, tmp_path):
    tenant, summary = demo
    root = _copy_root(summary, tmp_path)
    month = tenant.months[0]
    part = _first_run(root, month) / "part_0_0001.csv"
    with open(part, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    rows[2][header.index("BilledCost")] = "12,5x"
    rows[5][header.index("ChargePeriodStart")] = "not-a-date"
    rows[7][header.index("ChargePeriodStart")] = "2020-01-01T00:00:00Z"
    rows[9][header.index("EffectiveCost")] = ""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    part.write_text(buf.getvalue(), encoding="utf-8")
    con = duckdb.connect()
    result = load_month(con, runs_for_month(root, month), month)
    rejects = con.execute("SELECT source_file, source_row, reason, raw FROM cost_rejects ORDER BY source_row").fetchall()
    rel = part.relative_to(root).as_posix()
    assert [(f, r) for f, r, _, _ in rejects] == [(rel, 2), (rel, 5), (rel, 7), (rel, 9)]
    reasons = [r for _, _, r, _ in rejects]
    assert reasons[0].startswith("bad BilledCost") and "12,5x" in reasons[0]
    assert reasons[1].startswith("bad ChargePeriodStart")
    assert reasons[2].startswith("charge period outside billing month")
    assert reasons[3] == "missing EffectiveCost"
    assert json.loads(rejects[0][3])["BilledCost"] == "12,5x"
    assert result.rows_rejected == 4
    # Rejected rows still count as file rows: the manifest count matches.
    assert result.row_count_mismatches() == []
    n, _, _ = _sum_files(_independent_newest(summary.root, month))
    assert totals(con, month)[0] == n - 4


def test_rows_keep_their_file_row_around_rejects_in_every_file_of_a_group(demo, tmp_path):
    """Two files read by one statement, both with rejects: every published row still points at
    its own line of its own file, and no row marked for rejection is left in cost_line_items."""
    tenant, summary = demo
    root = _copy_root(summary, tmp_path)
    month = tenant.months[0]
    parts = [m.parent / "part_0_0001.csv" for m in sorted(root.glob(f"*/{month:%Y%m%d}-*/*/manifest.json"))]
    assert len(parts) >= 2, "the demo month should hold two exports"
    for part, bad_rows in zip(parts[:2], ([3, 4], [1, 6]), strict=True):
        with open(part, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        for n in bad_rows:
            rows[n][rows[0].index("BilledCost")] = "oops"
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        part.write_text(buf.getvalue(), encoding="utf-8")
    con = duckdb.connect()
    result = load_month(con, runs_for_month(root, month), month)
    assert result.rows_rejected == 4
    rejects = con.execute("SELECT source_file, source_row FROM cost_rejects ORDER BY ALL").fetchall()
    rel = [p.relative_to(root).as_posix() for p in parts[:2]]
    assert sorted(rejects) == sorted([(rel[0], 3), (rel[0], 4), (rel[1], 1), (rel[1], 6)])
    assert con.execute("SELECT count(*) FROM cost_line_items WHERE starts_with(repairs, '!') "
                       "OR source_row < 1").fetchone()[0] == 0
    for part, relative in zip(parts[:2], rel, strict=True):
        with open(part, encoding="utf-8", newline="") as fh:
            file_rows = list(csv.DictReader(fh))
        loaded = con.execute("SELECT source_row, billed_cost FROM cost_line_items WHERE source_file = ? "
                             "ORDER BY source_row", [relative]).fetchall()
        assert len(loaded) == len(file_rows) - 2
        assert all(q(file_rows[row - 1]["BilledCost"]) == billed for row, billed in loaded)


def test_parquet_rejects_point_at_their_file_row(demo, tmp_path):
    """Parquet rows are numbered by the reader itself: a reject names its row, the rows after it
    keep theirs."""
    tenant, summary = demo
    month = tenant.months[0]
    good = _first_run(summary.root, month) / "part_0_0001.csv"
    with open(good, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows = rows[:9]  # header + 8 data rows
    rows[4][rows[0].index("EffectiveCost")] = "n/a"
    edited = tmp_path / "edited.csv"
    with open(edited, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    root = tmp_path / "exports"
    parquet = tmp_path / "part_0_0001.parquet"
    _as_parquet(edited, parquet)
    _write_run(root, "p", month, "r1", "2026-09-02T00:00:00Z", {"part_0_0001.parquet": parquet.read_bytes()},
               rows={"part_0_0001.parquet": 8})
    con = duckdb.connect()
    result = load_month(con, runs_for_month(root, month), month)
    assert result.rows_rejected == 1 and result.row_count_mismatches() == []
    (source_row, reason, raw), = con.execute("SELECT source_row, reason, raw FROM cost_rejects").fetchall()
    assert (source_row, reason) == (4, "bad EffectiveCost: n/a")
    assert json.loads(raw)["EffectiveCost"] == "n/a"
    loaded = con.execute("SELECT source_row, billed_cost FROM cost_line_items ORDER BY source_row").fetchall()
    assert [r for r, _ in loaded] == [1, 2, 3, 5, 6, 7, 8]
    assert all(q(rows[r][rows[0].index("BilledCost")]) == billed for r, billed in loaded)


@pytest.mark.parametrize("blob_name", [
    "exports/../../etc/passwd", "/etc/passwd", "exports/x/../../../outside.csv", "C:\\windows\\part.csv",
])
def test_unsafe_blob_names_refused(demo, tmp_path, blob_name):
    tenant, summary = demo
    root = _copy_root(summary, tmp_path)
    month = tenant.months[0]
    manifest = _first_run(root, month) / "manifest.json"
    m = json.loads(manifest.read_text())
    m["blobs"][0]["blobName"] = blob_name
    manifest.write_text(json.dumps(m))
    with pytest.raises(UnsafeBlobNameError) as err:
        runs_for_month(root, month)
    assert "manifest.json" in str(err.value) and repr(blob_name) in str(err.value)


def test_symlink_escape_refused(demo, tmp_path):
    tenant, summary = demo
    root = _copy_root(summary, tmp_path)
    month = tenant.months[0]
    run = _first_run(root, month)
    outside = tmp_path / "outside.csv"
    outside.write_text(",".join(FOCUS_1_2_COLUMNS) + "\n")
    (run / "evil.csv").symlink_to(outside)
    manifest = run / "manifest.json"
    m = json.loads(manifest.read_text())
    m["blobs"][0]["blobName"] = (run / "evil.csv").relative_to(root.parent).as_posix()
    manifest.write_text(json.dumps(m))
    with pytest.raises(UnsafeBlobNameError, match="outside the export root"):
        runs_for_month(root, month)


def test_microsoft_example_blob_name_spaces():
    assert normalize_blob_name(" folder/sample/ 00000000-0000-0000-0000-000000000000/part0.csv") == \
        "folder/sample/00000000-0000-0000-0000-000000000000/part0.csv"


def test_manifest_row_count_mismatch_reported(demo, tmp_path):
    tenant, summary = demo
    root = _copy_root(summary, tmp_path)
    month = tenant.months[0]
    manifest = _first_run(root, month) / "manifest.json"
    m = json.loads(manifest.read_text())
    m["blobs"][0]["dataRowCount"] += 3
    manifest.write_text(json.dumps(m))
    result = load_month(duckdb.connect(), runs_for_month(root, month), month)
    mismatches = result.row_count_mismatches()
    assert len(mismatches) == 1
    assert Path(m["blobs"][0]["blobName"]).relative_to("exports").as_posix() in mismatches[0]


def _write_run(root: Path, export: str, month: date, run_id: str, submitted: str, files: dict[str, bytes],
               rows: dict[str, int] | None = None) -> Path:
    folder = root / export / f"{month:%Y%m%d}-{month:%Y%m}28" / run_id
    folder.mkdir(parents=True)
    blobs = []
    for name, content in files.items():
        (folder / name).write_bytes(content)
        blobs.append({"blobName": f"exports/{export}/{folder.parent.name}/{run_id}/{name}",
                      "byteCount": len(content), "dataRowCount": (rows or {}).get(name)})
    manifest = {"manifestVersion": "2024-04-01", "blobCount": len(blobs),
                "exportConfig": {"exportName": export, "type": "FocusCost", "dataVersion": "1.2"},
                "deliveryConfig": {"rootFolderPath": "exports"},
                "runInfo": {"runId": run_id, "submittedTime": submitted}, "blobs": blobs}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_truncated_gzip_fails_naming_file_and_leaves_tables(demo, tmp_path):
    tenant, summary = demo
    month = tenant.months[0]
    con = duckdb.connect()
    load_month(con, runs_for_month(summary.root, month), month)
    before = totals(con, month)
    root = tmp_path / "exports"
    good = _first_run(summary.root, month) / "part_0_0001.csv"
    data = gzip.compress(good.read_bytes())
    _write_run(root, "broken", month, "run-1", "2026-09-02T00:00:00Z",
               {"part_0_0001.csv.gz": data[: len(data) // 2], "part_1_0001.csv.gz": data})
    runs = runs_for_month(summary.root, month) + runs_for_month(root, month)
    with pytest.raises(CostLoadError) as err:
        load_month(con, runs, month)
    assert "part_0_0001.csv.gz" in str(err.value)
    assert totals(con, month) == before
    assert con.execute("SELECT count(*) FROM cost_rejects").fetchone()[0] == 0


def test_gzip_and_header_only_and_empty_runs(demo, tmp_path):
    tenant, summary = demo
    month = date(2026, 8, 1)
    root = tmp_path / "exports"
    good = _first_run(summary.root, month) / "part_0_0001.csv"
    n, eff, billed = _sum_files([good])
    header = (",".join(FOCUS_1_2_COLUMNS) + "\n").encode()
    _write_run(root, "gz", month, "r1", "2026-09-02T00:00:00.1234567Z",
               {"part_0_0001.csv.gz": gzip.compress(good.read_bytes())}, {"part_0_0001.csv.gz": n})
    _write_run(root, "header-only", month, "r1", "2026-09-02T00:00:00Z", {"part_0_0001.csv": header},
               {"part_0_0001.csv": 0})
    _write_run(root, "empty", month, "r1", "2026-09-02T00:00:00Z", {})
    con = duckdb.connect()
    result = load_month(con, runs_for_month(root, month), month)
    assert totals(con, month) == (n, eff, billed)
    assert result.row_count_mismatches() == []
    assert {b.source_file.split("/")[0]: b.rows_read for b in result.blobs} == {"gz": n, "header-only": 0}


def test_header_only_export_loads_nothing(tmp_path):
    month = date(2026, 8, 1)
    root = tmp_path / "exports"
    _write_run(root, "x", month, "r1", "2026-09-02T00:00:00Z",
               {"part_0_0001.csv": (",".join(FOCUS_1_2_COLUMNS) + "\n").encode()}, {"part_0_0001.csv": 0})
    con = duckdb.connect()
    result = load_month(con, runs_for_month(root, month), month)
    assert result.rows_loaded == 0 and result.rows_rejected == 0 and result.totals == {}
    assert con.execute("SELECT count(*) FROM cost_line_items").fetchone()[0] == 0


def test_newest_run_wins_even_when_older_folder_sorts_later(demo, tmp_path):
    tenant, summary = demo
    month = date(2026, 8, 1)
    root = tmp_path / "exports"
    good = (_first_run(summary.root, month) / "part_0_0001.csv").read_bytes()
    header = (",".join(FOCUS_1_2_COLUMNS) + "\n").encode()
    _write_run(root, "e", month, "zzz-old", "2026-08-16T00:00:00Z", {"part_0_0001.csv": good})
    _write_run(root, "e", month, "aaa-new", "2026-09-02T00:00:00Z", {"part_0_0001.csv": header})
    runs = runs_for_month(root, month)
    assert [r.run_id for r in runs] == ["aaa-new"]
    assert load_month(duckdb.connect(), runs, month).rows_loaded == 0


def test_reload_replaces_month(demo, tmp_path):
    tenant, summary = demo
    con = duckdb.connect()
    month = tenant.months[1]
    runs = runs_for_month(summary.root, month)
    load_month(con, runs, month)
    other = tenant.months[0]
    load_month(con, runs_for_month(summary.root, other), other)
    once, other_once = totals(con, month), totals(con, other)
    load_month(con, runs, month)
    assert totals(con, month) == once and totals(con, other) == other_once
    dupes = con.execute("SELECT count(*) FROM (SELECT source_file, source_row FROM cost_line_items "
                        "GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
    assert dupes == 0


def test_schema_detection():
    assert detect_schema(["\ufeffBilledCost", *FOCUS_1_2_COLUMNS[1:]]).name == "focus-1.2"
    focus10 = ["billedcost", "EffectiveCost", "ChargePeriodStart", "x_SkuDetails", "x_InvoiceId"]
    assert detect_schema(focus10).name == "focus-1.0"
    assert detect_schema(focus10, data_version="1.0r2").name == "focus-1.0r2"
    assert detect_schema([*focus10, "SkuMeter"]).name == "focus-1.2-preview"
    ea = ["BillingAccountId", "Date", "MeterCategory", "Cost", "Tags"]
    assert detect_schema(ea).name == "ea-cost"
    assert detect_schema(["Date", "MeterCategory", "CostInBillingCurrency"], export_type="AmortizedCost") \
        .cost_basis == "amortized"
    assert detect_schema(["invoiceId", "date", "meterCategory", "costInBillingCurrency"]).family == "mca"
    with pytest.raises(UnknownSchemaError, match="weird.csv"):
        detect_schema(["foo", "bar"], "weird.csv")


def test_unknown_header_fails_naming_file(tmp_path):
    month = date(2026, 8, 1)
    root = tmp_path / "exports"
    _write_run(root, "x", month, "r1", "2026-09-02T00:00:00Z", {"part_0_0001.csv": b"foo,bar\n1,2\n"})
    with pytest.raises(CostLoadError, match="part_0_0001.csv.*unknown cost export schema"):
        load_month(duckdb.connect(), runs_for_month(root, month), month)


def test_broken_manifest_names_it(tmp_path):
    folder = tmp_path / "exports" / "x" / "20260801-20260831" / "r1"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ExportDiscoveryError, match="manifest.json"):
        runs_for_month(tmp_path / "exports", date(2026, 8, 1))


def _lay_out(tmp_path: Path, src: Path, month: date, name: str) -> Path:
    """A manifest-less legacy range folder holding one real sample file."""
    root = tmp_path / "exports"
    folder = root / "sample" / f"{month:%Y%m%d}-{month:%Y%m}28"
    folder.mkdir(parents=True)
    shutil.copyfile(src, folder / name)
    return root


def _raw_sum(path: Path, cost: str, billed: str) -> tuple[int, Decimal, Decimal]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    n, eff, bil = 0, Decimal(0), Decimal(0)
    for row in rows:
        n += 1
        eff += q(row[cost])
        bil += q(row[billed])
    return n, eff, bil


@needs_external
def test_focus_1_0_sample_loads(tmp_path):
    src = EXTERNAL / "FOCUS-Sample-Data" / "FOCUS-1.0" / "focus_sample.csv"
    month = date(2024, 9, 1)
    root = _lay_out(tmp_path, src, month, "focus_sample.csv")
    con = duckdb.connect()
    result = load_month(con, runs_for_month(root, month), month)
    assert result.rows_rejected == 0
    assert totals(con, month) == _raw_sum(src, "EffectiveCost", "BilledCost")
    assert {b.source_schema for b in result.blobs} == {"focus-1.0"}
    # Literal NULLs became SQL NULL, tags '{}' when absent, Azure subscription ids parsed.
    assert con.execute("SELECT count(*) FROM cost_line_items WHERE charge_class = 'NULL' "
                       "OR tags = 'NULL'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM cost_line_items WHERE sub_account_id = "
                       "'64e355d7-997c-491d-b0c1-8414dccfcf42'").fetchone()[0] > 0
    # FOCUS 1.0 has no x_ResourceGroupName: the group is the id's segment after /resourceGroups/.
    pairs = con.execute("SELECT resource_id, resource_group FROM cost_line_items").fetchall()
    with_group = [(rid, rg) for rid, rg in pairs if rid and "/resourcegroups/" in rid]
    assert with_group
    assert all(rg == rid.split("/resourcegroups/")[1].split("/")[0] for rid, rg in with_group)
    assert all(rg is None for rid, rg in pairs if not rid or "/resourcegroups/" not in rid)


@needs_external
@pytest.mark.parametrize("name,basis", [("EA_ActualCost_Small.csv", "actual"),
                                        ("EA_AmortizedCost_Small.csv", "amortized")])
def test_ea_samples_load(tmp_path, name, basis):
    src = EXTERNAL / "finops-toolkit" / "src" / "powershell" / "Tests" / "Unit" / "assets" / name
    month = date(2023, 9, 1)
    root = _lay_out(tmp_path, src, month, name)
    con = duckdb.connect()
    result = load_month(con, runs_for_month(root, month), month)
    assert result.rows_rejected == 0
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    commitment = ("Reservation", "SavingsPlan")
    eff = billed = Decimal(0)
    for row in rows:
        cost = q(row["Cost"])
        if basis == "actual":
            billed += cost
            eff += Decimal(0) if row["ChargeType"] == "Purchase" and row["PricingModel"] in commitment else cost
        else:
            eff += cost
            billed += Decimal(0) if row["ChargeType"] == "Usage" and row["PricingModel"] in commitment else cost
    assert totals(con, month) == (len(rows), eff, billed)
    # EA tags come without braces; they are published as JSON objects.
    assert con.execute("SELECT count(*) FROM cost_line_items WHERE NOT starts_with(tags, '{') "
                       "OR NOT json_valid(tags)").fetchone()[0] == 0


@needs_external
def test_ea_header_only_with_bom(tmp_path):
    src = EXTERNAL / "finops-toolkit" / "src" / "powershell" / "Tests" / "assets" / "EA_NoRows.csv"
    month = date(2023, 9, 1)
    root = _lay_out(tmp_path, src, month, "EA_NoRows.csv")
    result = load_month(duckdb.connect(), runs_for_month(root, month), month)
    assert result.rows_loaded == 0 and result.blobs[0].source_schema.startswith("ea-")


def test_demo_ea_amortized_loads(tmp_path):
    tenant = build_tenant(seed=42, months=1)
    summary = write_exports(tenant, tmp_path, schema="ea-amortized")
    con = duckdb.connect()
    month = tenant.months[0]
    result = load_month(con, runs_for_month(summary.root, month), month)
    truth = summary.months[month]
    assert result.rows_rejected == 0
    assert {c: (n, e) for c, (n, e, _) in totals_by_currency(con, month).items()} == {
        c: (n, e) for c, (n, e, _) in truth.totals().items()}


# --------------------------------------------------------------------------- every external file -
COMMITMENT = ("Reservation", "SavingsPlan")
# Every cost export among the shared external fixtures: (path under EXTERNAL, month, cost basis).
EXTERNAL_COST_FILES = [
    ("FOCUS-Sample-Data/FOCUS-1.0/focus_sample.csv", date(2024, 9, 1), None),
    ("finops-toolkit/src/powershell/Tests/Unit/assets/EA_ActualCost_Small.csv", date(2023, 9, 1), "actual"),
    ("finops-toolkit/src/powershell/Tests/Unit/assets/EA_AmortizedCost_Small.csv", date(2023, 9, 1), "amortized"),
    ("finops-toolkit/src/powershell/Tests/assets/EA_NoRows.csv", date(2023, 9, 1), "actual"),
    ("focus_converters/focus_converter_base/tests/provider_config_tests/azure/"
     "sample-anonymous-ea-export-dataset.csv", None, "actual"),
]


def _independent_expectation(path: Path, basis: str | None) -> tuple[int, dict[str, tuple[Decimal, Decimal]]]:
    """Rows and per-currency (effective, billed) computed from the raw file with Decimal only."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for row in rows:
        if basis is None:  # FOCUS
            cur, eff, billed = row["BillingCurrency"], q(row["EffectiveCost"]), q(row["BilledCost"])
        else:  # EA, focus_converters rules
            cur = row.get("BillingCurrencyCode") or row.get("BillingCurrency")
            cost = q(row.get("CostInBillingCurrency") or row["Cost"])
            purchase = row["ChargeType"] == "Purchase" and row["PricingModel"] in COMMITMENT
            covered = row["ChargeType"] == "Usage" and row["PricingModel"] in COMMITMENT
            eff = Decimal(0) if basis == "actual" and purchase else cost
            billed = Decimal(0) if basis == "amortized" and covered else cost
        e, b = totals.get(cur, (Decimal(0), Decimal(0)))
        totals[cur] = (e + eff, b + billed)
    return len(rows), totals


def _as_parquet(src: Path, dest: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(src, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    pq.write_table(pa.table({c: pa.array([r[i] for r in rows], pa.string()) for i, c in enumerate(header)}), dest)


@needs_external
def test_external_fixtures_hold_no_other_cost_export():
    """The list above is complete: no other CSV under the fixtures has a cost export header."""
    from dagster_project.costs.schemas import read_header

    found = set()
    for path in EXTERNAL.rglob("*.csv"):
        try:
            detect_schema(read_header(path), path)
        except UnknownSchemaError:
            continue
        found.add(path.relative_to(EXTERNAL).as_posix())
    assert found == {p for p, _, _ in EXTERNAL_COST_FILES}


@needs_external
@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
@pytest.mark.parametrize("rel,month,basis", EXTERNAL_COST_FILES, ids=[Path(p).stem for p, _, _ in EXTERNAL_COST_FILES])
def test_every_external_cost_file_loads_to_the_last_digit(tmp_path, rel, month, basis, fmt):
    src = EXTERNAL / rel
    n, expected = _independent_expectation(src, basis)
    if month is None:  # the month of the file's first data row
        with open(src, encoding="utf-8-sig", newline="") as fh:
            first = next(csv.DictReader(fh))["Date"]
        mm, _, yyyy = first.split("/")
        month = date(int(yyyy), int(mm), 1)
    name = f"{src.stem}_{basis or 'focus'}.{fmt}"
    folder = tmp_path / "exports" / "sample" / f"{month:%Y%m%d}-{month:%Y%m}28"
    folder.mkdir(parents=True)
    if fmt == "csv":
        shutil.copyfile(src, folder / name)
    elif fmt == "csv.gz":
        (folder / name).write_bytes(gzip.compress(src.read_bytes()))
    else:
        _as_parquet(src, folder / name)
    con = duckdb.connect()
    result = load_month(con, runs_for_month(tmp_path / "exports", month), month)
    assert result.rows_rejected == 0
    assert result.rows_loaded == n == sum(b.rows_read for b in result.blobs)
    got = {c: (t.effective_cost, t.billed_cost) for c, t in result.totals.items()}
    assert got == expected  # per currency, to the last digit; never summed across currencies
    in_table = dict(((c, (Decimal(e), Decimal(b))) for c, e, b in con.execute(
        "SELECT billing_currency, sum(effective_cost), sum(billed_cost) FROM cost_line_items GROUP BY 1").fetchall()))
    assert in_table == expected


# --------------------------------------------------------------------------- schema families -----
def _focus_variant(tmp_path: Path, good: Path, month: date, extra: list[str], data_version: str) -> Path:
    """The demo part file rewritten with FOCUS 1.0-style extension columns added."""
    with open(good, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = [*rows[0], *extra]
    body = [[*r, *(["x"] * len(extra))] for r in rows[1:]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *body])
    root = tmp_path / "exports"
    _write_run(root, "v", month, "r1", "2026-09-02T00:00:00Z", {"part_0_0001.csv": buf.getvalue().encode()},
               {"part_0_0001.csv": len(body)})
    m = root / "v" / f"{month:%Y%m%d}-{month:%Y%m}28" / "r1" / "manifest.json"
    doc = json.loads(m.read_text())
    doc["exportConfig"]["dataVersion"] = data_version
    m.write_text(json.dumps(doc))
    return root


@pytest.mark.parametrize("extra,data_version,expected", [
    ([], "1.2", "focus-1.2"),
    (["x_SkuMeterName", "x_InvoiceId"], "1.2-preview", "focus-1.2-preview"),
])
def test_focus_versions_load(demo, tmp_path, extra, data_version, expected):
    tenant, summary = demo
    month = tenant.months[0]
    good = _first_run(summary.root, month) / "part_0_0001.csv"
    root = _focus_variant(tmp_path, good, month, extra, data_version)
    con = duckdb.connect()
    result = load_month(con, runs_for_month(root, month), month)
    assert {b.source_schema for b in result.blobs} == {expected}
    assert totals(con, month) == _sum_files([good]) and result.row_count_mismatches() == []


@needs_external
def test_focus_1_0r2_from_manifest(tmp_path):
    src = EXTERNAL / "FOCUS-Sample-Data" / "FOCUS-1.0" / "focus_sample.csv"
    month = date(2024, 9, 1)
    root = tmp_path / "exports"
    _write_run(root, "f", month, "r1", "2024-10-02T00:00:00Z", {"part_0_0001.csv": src.read_bytes()})
    m = root / "f" / "20240901-20240928" / "r1" / "manifest.json"
    doc = json.loads(m.read_text())
    doc["exportConfig"]["dataVersion"] = "1.0r2"
    m.write_text(json.dumps(doc))
    con = duckdb.connect()
    result = load_month(con, runs_for_month(root, month), month)
    assert {b.source_schema for b in result.blobs} == {"focus-1.0r2"}
    assert totals(con, month) == _raw_sum(src, "EffectiveCost", "BilledCost")
    # The sample writes unquoted NULLs: recorded per row.
    assert con.execute("SELECT count(*) FROM cost_line_items WHERE contains(repairs, 'null_literal')").fetchone()[0] > 0


# --------------------------------------------------------------------------- repairs -------------
def test_repairs_recorded_per_row(demo, tmp_path):
    tenant, summary = demo
    month = tenant.months[0]
    good = _first_run(summary.root, month) / "part_0_0001.csv"
    with open(good, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    h = {c: i for i, c in enumerate(rows[0])}
    body = rows[1:7]
    for r in body:  # a clean baseline: lowercase ids
        r[h["ResourceId"]] = r[h["ResourceId"]].lower()
        r[h["SubAccountId"]] = r[h["SubAccountId"]].lower()
        r[h["x_ResourceGroupName"]] = r[h["x_ResourceGroupName"]].lower()
        r[h["Tags"]] = '{"project":"p"}'
    body[1][h["Tags"]] = '"project":"p","owner":"o"'
    body[2][h["ChargePeriodStart"]] = f"{month.month}/3/{month.year}"
    body[2][h["ChargeClass"]] = "NULL"
    body[3][h["BilledCost"]] = "1.5E+2"
    body[3][h["ResourceId"]] = body[3][h["ResourceId"]].upper()
    body[4][h["EffectiveCost"]] = "0.123456789012345678"
    body[5][h["ChargePeriodStart"]] = f"{month.month:02d}/03/{month.year}"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([rows[0], *body])
    root = tmp_path / "exports"
    _write_run(root, "r", month, "r1", "2026-09-02T00:00:00Z", {"part_0_0001.csv": buf.getvalue().encode()})
    con = duckdb.connect()
    load_month(con, runs_for_month(root, month), month)
    got = con.execute("SELECT source_row, repairs, tags, charge_class, billed_cost, effective_cost, resource_id, "
                      "charge_period_start FROM cost_line_items ORDER BY source_row").fetchall()
    assert [(r[0], r[1]) for r in got] == [
        (1, ""), (2, "tags_braces"), (3, "date_mdy,null_literal"), (4, "scientific,id_case"), (5, "long_decimal"),
        (6, "date_mdy")]
    assert got[1][2] == '{"project":"p","owner":"o"}' and got[2][3] is None
    assert got[3][4] == Decimal("150") and got[3][6] == got[3][6].lower()
    assert got[4][5] == Decimal("0.1234567890")
    assert got[2][7].day == 3 and got[5][7].day == 3
