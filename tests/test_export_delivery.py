"""Exports as Azure really delivers them: any folder level, superseded and unfinished runs,
overlapping export definitions, broken lines, odd encodings, missing months.

Every case is built by hand here (not by the demo generator), and every total is checked against
an independent `Decimal` sum of the rows this file wrote.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from cost_support import EXTERNAL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagster_project.costs.discovery import (
    ExportDiscoveryError,
    UnsafeBlobNameError,
    discover,
    runs_for_month,
)
from dagster_project.costs.load import load_month
from dagster_project.costs.overlap import overlapping_exports

AUGUST = date(2026, 8, 1)
SUB_A, SUB_B = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
FOCUS = ["BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd",
         "ChargeCategory", "ResourceId", "ResourceName", "SubAccountId", "Tags", "x_SkuDetails"]
EA = ["Date", "MeterCategory", "CostInBillingCurrency", "BillingCurrencyCode", "SubscriptionId", "ResourceId",
      "ResourceGroup", "ChargeType", "PricingModel", "Quantity", "Tags", "AdditionalInfo"]
needs_external = pytest.mark.skipif(not EXTERNAL.is_dir(), reason=(
    "needs ../shared/fixtures/external (the real third-party samples): check out the shared folder beside "
    "the repository"))


# -- hand-made exports ---------------------------------------------------------------------------

def focus_row(i: int, amount: str, sub: str = SUB_A, currency: str = "USD", month: date = AUGUST) -> list[str]:
    day = f"{month:%Y-%m}-{i % 28 + 1:02d}T00:00:00Z"
    rid = f"/subscriptions/{sub}/resourceGroups/rg-{i % 3}/providers/Microsoft.Compute/virtualMachines/vm{i}"
    return [amount, amount, amount, currency, day, day, "Usage", rid, f"vm{i}", sub,
            json.dumps({"project": f"p{i % 4}"}), "{}"]


def ea_row(i: int, amount: str, sub: str = SUB_A, month: date = AUGUST) -> list[str]:
    rid = f"/subscriptions/{sub}/resourceGroups/rg-{i % 3}/providers/Microsoft.Compute/virtualMachines/vm{i}"
    return [f"{month:%m}/{i % 28 + 1:02d}/{month:%Y}", "Virtual Machines", amount, "EUR", sub, rid, f"rg-{i % 3}",
            "Usage", "OnDemand", "1", json.dumps({"project": f"p{i % 4}"}), "{}"]


def csv_bytes(header: list[str], rows: list[list[str]], *, bom: bool = False, crlf: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    return (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8")


@dataclass
class Run:
    export: str
    run_id: str
    submitted: str
    files: dict[str, bytes]  # file name -> content (gzip applied by the name)
    good: dict[str, list[list[str]]] = field(default_factory=dict)  # file -> rows that must load
    rows: dict[str, int] = field(default_factory=dict)  # file -> data rows (loaded + rejected)
    export_type: str = "FocusCost"
    missing: list[str] = field(default_factory=list)  # listed in the manifest, never written
    manifest_text: str | None = None  # a broken manifest, as written
    blob_names: dict[str, str] = field(default_factory=dict)  # file -> blobName override


def write_run(container: Path, run: Run, month: date = AUGUST, root_folder: str = "exports") -> Path:
    """One run in Azure's layout: <container>/<root>/<export>/<range>/<run-id>/manifest.json."""
    range_folder = f"{month:%Y%m%d}-{month:%Y%m}28"
    rel = f"{root_folder}/{run.export}/{range_folder}/{run.run_id}"
    folder = container / rel
    folder.mkdir(parents=True)
    blobs = []
    for name, content in run.files.items():
        (folder / name).write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
        blobs.append({"blobName": run.blob_names.get(name, f"{rel}/{name}"), "byteCount": len(content),
                      "dataRowCount": run.rows.get(name)})
    for name in run.missing:
        blobs.append({"blobName": f"{rel}/{name}", "byteCount": 10, "dataRowCount": 1})
    manifest = {"manifestVersion": "2024-04-01", "blobCount": len(blobs),
                "exportConfig": {"exportName": run.export, "type": run.export_type,
                                 "dataVersion": "1.2" if run.export_type == "FocusCost" else "2023-05-01"},
                "deliveryConfig": {"rootFolderPath": root_folder, "fileFormat": "Csv"},
                "runInfo": {"runId": run.run_id, "submittedTime": run.submitted,
                            "startDate": f"{month:%Y-%m}-01T00:00:00"},
                "blobs": blobs}
    (folder / "manifest.json").write_text(run.manifest_text or json.dumps(manifest), encoding="utf-8")
    return folder


def focus_run(export: str, run_id: str, submitted: str, amounts: list[str], **kw) -> Run:
    rows = [focus_row(i, a, **kw) for i, a in enumerate(amounts)]
    return Run(export, run_id, submitted, {"part_0_0001.csv": csv_bytes(FOCUS, rows)},
               good={"part_0_0001.csv": rows}, rows={"part_0_0001.csv": len(rows)})


def expected_totals(runs: list[Run], family: str = "focus") -> tuple[int, dict[str, Decimal]]:
    """Independent sums of the rows that must load: count and effective cost per currency."""
    count, totals = 0, {}
    for run in runs:
        for rows in run.good.values():
            for row in rows:
                if family == "focus":
                    currency, amount = row[FOCUS.index("BillingCurrency")], Decimal(row[FOCUS.index("EffectiveCost")])
                else:
                    currency, amount = row[EA.index("BillingCurrencyCode")], Decimal(row[EA.index("CostInBillingCurrency")])
                totals[currency] = totals.get(currency, Decimal(0)) + amount
                count += 1
    return count, totals


def loaded_totals(con: duckdb.DuckDBPyConnection, month: date = AUGUST) -> tuple[int, dict[str, Decimal]]:
    rows = con.execute("SELECT billing_currency, count(*), sum(effective_cost) FROM cost_line_items "
                       "WHERE billing_month = ? GROUP BY 1", [month]).fetchall()
    return sum(r[1] for r in rows), {r[0]: r[2] for r in rows}


def load(root: Path, month: date = AUGUST, exclude=()) -> tuple[duckdb.DuckDBPyConnection, object]:
    con = duckdb.connect()
    result = load_month(con, runs_for_month(root, month, exclude), month)
    return con, result


# -- discovery at any level -----------------------------------------------------------------------

@pytest.mark.parametrize("level", ["container", "root", "export", "range", "run"])
def test_any_folder_level_finds_the_same_run(tmp_path, level):
    container = tmp_path / "container"
    run = focus_run("daily", "r1", "2026-09-02T00:00:00.1234567Z", ["1.10", "2.20", "3.333"])
    folder = write_run(container, run)
    root = {"container": container, "root": container / "exports", "export": container / "exports" / "daily",
            "range": folder.parent, "run": folder}[level]
    con, result = load(root)
    assert loaded_totals(con) == expected_totals([run]) == (3, {"USD": Decimal("6.633")})
    assert [b.source_file.rsplit("/", 1)[-1] for b in result.blobs] == ["part_0_0001.csv"]


def test_nothing_found_says_what_was_searched_and_the_layout(tmp_path):
    (tmp_path / "some" / "folder").mkdir(parents=True)
    (tmp_path / "some" / "folder" / "notes.csv").write_text("a,b\n1,2\n")
    found = discover(tmp_path)
    assert found.runs == []
    message = found.nothing_found()
    assert str(tmp_path) in message and "manifest.json" in message and "\n" not in message


def test_microsofts_own_manifest_layout_loads_with_the_month_from_run_info(tmp_path):
    """The published manifest example has no date-range folder and blob names with stray spaces."""
    manifest = {
        "manifestVersion": "2024-04-01", "byteCount": 0, "blobCount": 1, "dataRowCount": 2,
        "exportConfig": {"exportName": "sample", "type": "FocusCost", "dataVersion": "1.2"},
        "deliveryConfig": {"rootFolderPath": "folder", "fileFormat": "Csv"},
        "runInfo": {"executionType": "OnDemand", "submittedTime": "2025-03-21T21:04:06.5234447Z",
                    "runId": "bbac73f1-9a05-4de6-84ab-c72b568a03b4", "startDate": "2025-03-01T00:00:00",
                    "endDate": "2025-03-21T00:00:00Z"},
        "blobs": [{"blobName": " folder/sample/ 00000000-0000-0000-0000-000000000000/part0.csv", "dataRowCount": 2}],
    }
    run_dir = tmp_path / "container" / "folder" / "sample" / "00000000-0000-0000-0000-000000000000"
    run_dir.mkdir(parents=True)
    march = date(2025, 3, 1)
    rows = [focus_row(i, "0.5", month=march) for i in range(2)]
    (run_dir / "part0.csv").write_bytes(csv_bytes(FOCUS, rows))
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    for root in (tmp_path / "container", run_dir):
        con, result = load(root, march)
        assert loaded_totals(con, march) == (2, {"USD": Decimal("1.0")})
        assert result.row_count_mismatches() == []
    # A non-cost export (the example's own type) in the same container is never loaded.
    manifest["exportConfig"]["type"] = "ReservationRecommendations"
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    assert discover(tmp_path / "container").runs == []


def test_the_new_export_sensor_sees_deliveries_at_any_level(tmp_path):
    from dagster_project.costs.watch import delivered_manifests

    folder = write_run(tmp_path / "container", focus_run("daily", "r1", "2026-09-02T00:00:00Z", ["1"]))
    for root in (tmp_path / "container", tmp_path / "container" / "exports", folder):
        assert list(delivered_manifests(root).values()) == [AUGUST]
    no_range = tmp_path / "flat" / "sample" / "run-guid"
    no_range.mkdir(parents=True)
    (no_range / "manifest.json").write_text(json.dumps({"runInfo": {"startDate": "2025-03-01T00:00:00"}}))
    assert delivered_manifests(tmp_path / "flat") == {"sample/run-guid/manifest.json": date(2025, 3, 1)}


# -- runs -----------------------------------------------------------------------------------------

def test_newest_incomplete_run_is_skipped_with_a_warning_and_the_previous_counts(tmp_path):
    old = focus_run("daily", "r1", "2026-09-02T00:00:00Z", ["5.00", "6.00"])
    new = focus_run("daily", "r2", "2026-09-03T00:00:00Z", ["7.00"])
    new.missing = ["part_0_0002.csv"]
    write_run(tmp_path, old)
    write_run(tmp_path, new)
    found = discover(tmp_path, AUGUST)
    assert [r.run_id for r in found.runs] == ["r1"]
    assert any("r2" in w and "part_0_0002.csv" in w and "previous complete run counts" in w for w in found.warnings())
    con, _ = load(tmp_path)
    assert loaded_totals(con) == expected_totals([old])


@pytest.mark.parametrize("fault", ["bad_json", "missing_blob", "bad_time", "unsafe_name"])
def test_a_broken_superseded_run_never_blocks(tmp_path, fault):
    broken = focus_run("daily", "r1", "2026-09-01T00:00:00Z", ["1.00"])
    if fault == "bad_json":
        broken.manifest_text = "{not json"
    elif fault == "missing_blob":
        broken.missing = ["part_0_0009.csv"]
    elif fault == "bad_time":
        broken.submitted = "yesterday"
    else:
        broken.blob_names = {"part_0_0001.csv": "exports/../../etc/passwd"}
    folder = write_run(tmp_path, broken)
    good = focus_run("daily", "r2", "2026-09-05T00:00:00Z", ["2.50", "2.50"])
    write_run(tmp_path, good)
    if fault in ("bad_json", "bad_time"):  # no readable time: the file's age orders it
        import os
        os.utime(folder / "manifest.json", (0, 0))
    con, _ = load(tmp_path)
    assert loaded_totals(con) == expected_totals([good])
    # And without a month: no other month is blocked by it either.
    assert discover(tmp_path).months() == [AUGUST]


def test_a_newest_run_with_an_unsafe_blob_name_blocks_its_month_only(tmp_path):
    write_run(tmp_path, focus_run("daily", "r1", "2026-09-01T00:00:00Z", ["1.00"]))
    evil = focus_run("daily", "r2", "2026-09-02T00:00:00Z", ["1.00"])
    evil.blob_names = {"part_0_0001.csv": "exports/daily/../../../outside.csv"}
    write_run(tmp_path, evil)
    september = focus_run("daily", "s1", "2026-10-01T00:00:00Z", ["9.00"], month=date(2026, 9, 1))
    write_run(tmp_path, september, month=date(2026, 9, 1))
    with pytest.raises(UnsafeBlobNameError, match="refused"):
        runs_for_month(tmp_path, AUGUST)
    assert [r.run_id for r in runs_for_month(tmp_path, date(2026, 9, 1))] == ["s1"]


def test_a_newest_unreadable_manifest_blocks_its_month_naming_it(tmp_path):
    write_run(tmp_path, focus_run("daily", "r1", "2026-09-01T00:00:00Z", ["1.00"]))
    bad = focus_run("daily", "r2", "2026-09-02T00:00:00Z", ["1.00"])
    bad.manifest_text = '{"blobs": ['
    write_run(tmp_path, bad)
    with pytest.raises(ExportDiscoveryError, match=r"r2/manifest\.json.*cannot be read as JSON"):
        runs_for_month(tmp_path, AUGUST)


# -- overlapping exports ----------------------------------------------------------------------------

def test_two_exports_of_one_subscription_are_detected_not_summed(tmp_path):
    focus = focus_run("focus-daily", "f1", "2026-09-02T00:00:00Z", ["10.00", "20.00"])
    actual = focus_run("manual-oneoff", "m1", "2026-09-03T00:00:00Z", ["10.00", "20.00"])
    write_run(tmp_path, focus)
    write_run(tmp_path, actual)
    con = duckdb.connect()
    runs = runs_for_month(tmp_path, AUGUST)
    load_month(con, runs, AUGUST)
    overlaps = overlapping_exports(con, AUGUST, runs)
    assert len(overlaps) == 1 and overlaps[0].sub_account_id == SUB_A
    assert "focus-daily" in overlaps[0].message() and "manual-oneoff" in overlaps[0].message()
    assert "exports.exclude" in overlaps[0].message()
    con, _ = load(tmp_path, exclude=["manual-*"])
    assert loaded_totals(con) == expected_totals([focus])


def test_a_billing_account_export_beside_a_subscription_export_overlaps_on_that_subscription(tmp_path):
    rows = [focus_row(0, "4.00", SUB_A), focus_row(1, "6.00", SUB_B)]
    account = Run("billing-account", "b1", "2026-09-02T00:00:00Z", {"part_0_0001.csv": csv_bytes(FOCUS, rows)})
    subscription = focus_run("sub-a", "s1", "2026-09-02T00:00:00Z", ["4.00"], sub=SUB_A)
    write_run(tmp_path, account)
    write_run(tmp_path, subscription)
    con = duckdb.connect()
    runs = runs_for_month(tmp_path, AUGUST)
    load_month(con, runs, AUGUST)
    overlaps = overlapping_exports(con, AUGUST, runs)
    assert [(o.exports, o.sub_account_id) for o in overlaps] == [(("billing-account", "sub-a"), SUB_A)]


# -- broken lines and encodings ---------------------------------------------------------------------

def _lines(rows: list[list[str]]) -> list[str]:
    return csv_bytes(FOCUS, rows).decode().splitlines(keepends=True)


BROKEN = {
    "too_many_fields": lambda line: line.rstrip("\n") + ",EXTRA\n",
    "too_few_fields": lambda line: ",".join(line.split(",")[:4]) + "\n",
    "unterminated_quote": lambda line: '"' + line,
    "bad_utf8": lambda line: line.replace("vm", "v\udcffm", 1),
}


@pytest.mark.parametrize("fault", sorted(BROKEN))
def test_a_broken_line_is_one_reject_and_the_rest_loads(tmp_path, fault):
    rows = [focus_row(i, f"{i}.25") for i in range(6)]
    lines = _lines(rows)
    lines[3] = BROKEN[fault](lines[3])  # data row 3
    content = "".join(lines).encode("utf-8", errors="surrogateescape")
    run = Run("daily", "r1", "2026-09-02T00:00:00Z", {"part_0_0001.csv": content},
              good={"part_0_0001.csv": rows[:2] + rows[3:]}, rows={"part_0_0001.csv": 6})
    write_run(tmp_path, run)
    con, result = load(tmp_path)
    assert loaded_totals(con) == expected_totals([run])
    assert result.rows_rejected == 1 and result.row_count_mismatches() == []
    rejects = con.execute("SELECT source_file, source_row, reason, raw FROM cost_rejects").fetchall()
    assert len(rejects) == 1
    source_file, source_row, reason, raw = rejects[0]
    assert source_file.endswith("r1/part_0_0001.csv") and source_row == 3
    assert reason.startswith("unparseable line")
    written = lines[3].rstrip("\n").encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")
    assert raw == written, "the reject keeps the line as it was in the file"
    numbered = con.execute("SELECT list(source_row ORDER BY source_row) FROM cost_line_items").fetchall()[0][0]
    assert numbered == [1, 2, 4, 5, 6]


@pytest.mark.parametrize("encoding", ["utf-8-bom", "utf-16-le", "utf-16-be", "crlf", "gzip"])
def test_encodings_and_line_ends_load(tmp_path, encoding):
    rows = [focus_row(i, f"{i}.5") for i in range(4)]
    text = csv_bytes(FOCUS, rows, crlf=encoding == "crlf").decode()
    name = "part_0_0001.csv.gz" if encoding == "gzip" else "part_0_0001.csv"
    content = {"utf-8-bom": codecs.BOM_UTF8 + text.encode(), "utf-16-le": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
               "utf-16-be": codecs.BOM_UTF16_BE + text.encode("utf-16-be")}.get(encoding, text.encode())
    run = Run("daily", "r1", "2026-09-02T00:00:00Z", {name: content}, good={name: rows}, rows={name: 4})
    write_run(tmp_path, run)
    con, result = load(tmp_path)
    assert loaded_totals(con) == expected_totals([run])
    assert result.rows_rejected == 0


def test_an_amount_too_large_for_exact_splits_is_a_reject(tmp_path):
    rows = [focus_row(0, "1E+20"), focus_row(1, "99999999999999999.99"), focus_row(2, "3")]
    run = Run("daily", "r1", "2026-09-02T00:00:00Z", {"part_0_0001.csv": csv_bytes(FOCUS, rows)},
              good={"part_0_0001.csv": rows[1:]}, rows={"part_0_0001.csv": 3})
    write_run(tmp_path, run)
    con, _ = load(tmp_path)
    assert loaded_totals(con) == expected_totals([run])
    assert con.execute("SELECT source_row, reason FROM cost_rejects").fetchall() == [(1, "bad BilledCost: 1E+20")]


def test_an_ea_list_cost_too_large_to_multiply_is_a_reject_not_a_failed_load(tmp_path):
    """PayGPrice × Quantity of 10^18 or more overflows the exact product: that row is a reject with
    its line and reason, the rest of the file loads (it used to fail the whole month)."""
    header = [*EA, "PayGPrice"]
    rows = [[*ea_row(0, "10"), "2.5"], [*ea_row(1, "20"), "99999999999"], [*ea_row(2, "30"), "4"]]
    rows[1][EA.index("Quantity")] = "99999999"
    rows[2][EA.index("Quantity")] = "3"
    run = Run("daily", "r1", "2026-08-02T00:00:00Z", {"part_0_0001.csv": csv_bytes(header, rows)},
              good={"part_0_0001.csv": [rows[0], rows[2]]}, rows={"part_0_0001.csv": 3}, export_type="ActualCost")
    write_run(tmp_path, run)
    con, result = load(tmp_path)
    assert con.execute("SELECT source_row, reason FROM cost_rejects").fetchall() == [
        (2, "list cost out of range: PayGPrice 99999999999 x Quantity 99999999")]
    assert result.rows_loaded == 2
    assert con.execute("SELECT source_row, list_cost FROM cost_line_items ORDER BY 1").fetchall() == [
        (1, Decimal("2.5000000000")), (3, Decimal("12.0000000000"))]


def test_a_file_that_cannot_be_read_at_all_fails_in_one_line_naming_it(tmp_path):
    run = Run("daily", "r1", "2026-09-02T00:00:00Z", {"part_0_0001.csv.gz": b""})
    folder = write_run(tmp_path, run)
    (folder / "part_0_0001.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(Exception) as err:
        load(tmp_path)
    message = str(err.value)
    assert "r1/part_0_0001.csv.gz" in message and "\n" not in message and "Possible fixes" not in message


# -- generated variants ----------------------------------------------------------------------------

AMOUNT = st.decimals(min_value=Decimal("-500"), max_value=Decimal("5000"), places=4, allow_nan=False,
                     allow_infinity=False)


@st.composite
def deliveries(draw):
    """A random delivery: FOCUS or EA, 1–3 runs in random order (older ones possibly broken),
    gzip or not, BOM / CRLF, some broken lines in the winner, a random root level."""
    family = draw(st.sampled_from(["focus", "ea"]))
    header, make = (FOCUS, focus_row) if family == "focus" else (EA, ea_row)
    n_runs = draw(st.integers(1, 3))
    order = draw(st.permutations(list(range(n_runs))))
    runs = []
    for index in range(n_runs):
        amounts = draw(st.lists(AMOUNT, min_size=0, max_size=12))
        rows = [make(i, f"{a}") for i, a in enumerate(amounts)]
        broken_at = draw(st.sets(st.integers(0, max(len(rows) - 1, 0)), max_size=2)) if rows else set()
        lines = csv_bytes(header, rows, crlf=draw(st.booleans())).decode().splitlines(keepends=True)
        good = []
        for i, row in enumerate(rows):
            if i in broken_at:
                fault = draw(st.sampled_from(sorted(BROKEN)))
                if fault == "bad_utf8" and "vm" not in lines[i + 1]:
                    fault = "too_many_fields"
                lines[i + 1] = BROKEN[fault](lines[i + 1])
            else:
                good.append(row)
        content = ("".join(lines)).encode("utf-8", errors="surrogateescape")
        if draw(st.booleans()):
            content = codecs.BOM_UTF8 + content
        name = "part_0_0001.csv.gz" if draw(st.booleans()) else "part_0_0001.csv"
        run = Run("exp", f"run{index}", f"2026-09-0{order[index] + 1}T00:00:00Z", {name: content},
                  good={name: good}, rows={name: len(rows)},
                  export_type="FocusCost" if family == "focus" else "ActualCost")
        runs.append(run)
    newest = max(runs, key=lambda r: r.submitted)
    for run in runs:
        if run is not newest and draw(st.booleans()):
            run.manifest_text = draw(st.sampled_from(["{broken", '{"blobs": 5}']))
            run.submitted = "2026-08-31T00:00:00Z"  # the file time orders it: made older below
    level = draw(st.sampled_from(["container", "root", "export"]))
    return family, runs, newest, level


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=deliveries())
def test_generated_deliveries_load_exactly_the_winner(tmp_path_factory, case):
    family, runs, newest, level = case
    container = tmp_path_factory.mktemp("delivery")
    import os
    for run in runs:
        folder = write_run(container, run)
        if run.manifest_text:
            os.utime(folder / "manifest.json", (0, 0))
    root = {"container": container, "root": container / "exports", "export": container / "exports" / "exp"}[level]
    found = discover(root, AUGUST)
    assert [r.run_id for r in found.runs] == [newest.run_id]
    con = duckdb.connect()
    result = load_month(con, found.runs_for(AUGUST), AUGUST)
    count, totals = expected_totals([newest], family)
    loaded_count, loaded = loaded_totals(con)
    assert loaded_count == count
    assert {c: v for c, v in loaded.items()} == {c: v for c, v in totals.items()}
    assert result.rows_loaded + result.rows_rejected == sum(newest.rows.values())
    assert result.row_count_mismatches() == []


# -- months: never wiped, never faked ---------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dagster_project.cli", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def demo_inventory(tmp_path_factory):
    from dagster_project.demo.generate import generate_demo

    return generate_demo(tmp_path_factory.mktemp("inventory") / "tenant", seed=42, months=1).inventory


def test_months_are_never_wiped_or_faked(tmp_path, demo_inventory):
    exports = tmp_path / "container"
    august = focus_run("daily", "a1", "2026-09-02T00:00:00Z", ["100.00", "200.01"])
    write_run(exports, august)
    september = date(2026, 9, 1)
    empty = Run("daily", "s1", "2026-10-02T00:00:00Z", {"part_0_0001.csv": csv_bytes(FOCUS, [])},
                rows={"part_0_0001.csv": 0})
    write_run(exports, empty, month=september)
    out = tmp_path / "out"
    first = _cli("run", "--exports", str(exports), "--inventory", str(demo_inventory), "--out", str(out))
    assert first.returncode == 0, first.stderr
    published = (out / "finops.duckdb").read_bytes()
    # A month no export covers: exit 2, one line naming it, nothing touched.
    missing = _cli("run", "--exports", str(exports), "--inventory", str(demo_inventory), "--out", str(out),
                   "--month", "2026-07")
    assert missing.returncode == 2
    last = missing.stderr.strip().splitlines()[-1]
    assert "2026-07" in last and str(exports) in last and "Traceback" not in missing.stderr
    assert (out / "finops.duckdb").read_bytes() == published
    # An empty newest run publishes an empty month; its packs say so instead of "reconciled".
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        runs = con.execute("SELECT billing_month, status, line_items FROM export_runs ORDER BY 1").fetchall()
    assert runs == [(AUGUST, "loaded", 2), (september, "loaded", 0)]
    report = (out / "reports" / "2026-09" / "finance" / "report.html").read_text(encoding="utf-8")
    assert "no cost this month" in report.lower() and "reconciled" not in report.lower()
    # August's exports vanish: August stays as published, with a warning naming it.
    shutil.rmtree(exports / "exports" / "daily" / "20260801-20260828")
    again = _cli("run", "--exports", str(exports), "--inventory", str(demo_inventory), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "2026-08" in again.stdout + again.stderr and "left as published" in again.stdout + again.stderr
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        assert con.execute("SELECT sum(effective_cost) FROM cost_line_items WHERE billing_month = ?",
                           [AUGUST]).fetchall()[0][0] == Decimal("300.01")


# -- the real samples, as a container copy, through the command line --------------------------------

@needs_external
def test_real_samples_as_a_container_copy_load_completely_through_the_cli(tmp_path, demo_inventory):
    samples = {
        "focus-sample": (EXTERNAL / "FOCUS-Sample-Data/FOCUS-1.0/focus_sample.csv", "FocusCost", date(2024, 9, 1)),
        "ea-actual": (EXTERNAL / "finops-toolkit/src/powershell/Tests/Unit/assets/EA_ActualCost_Small.csv",
                      "ActualCost", date(2023, 9, 1)),
        "ea-amortized": (EXTERNAL / "finops-toolkit/src/powershell/Tests/Unit/assets/EA_AmortizedCost_Small.csv",
                         "AmortizedCost", date(2023, 9, 1)),
        "ea-cad": (EXTERNAL / "focus_converters/focus_converter_base/tests/provider_config_tests/azure/"
                   "sample-anonymous-ea-export-dataset.csv", "ActualCost", date(2023, 9, 1)),
    }
    container = tmp_path / "container"
    data_rows = {}
    for export, (source, export_type, month) in samples.items():
        content = source.read_bytes()
        with open(source, encoding="utf-8-sig", newline="") as fh:
            data_rows[export] = sum(1 for _ in csv.DictReader(fh))
        run = Run(export, f"{export}-run", "2026-01-01T00:00:00Z", {"part_0_0001.csv": content},
                  rows={"part_0_0001.csv": data_rows[export]}, export_type=export_type)
        write_run(container, run, month=month)
    out = tmp_path / "out"
    args = ["run", "--exports", str(container), "--inventory", str(demo_inventory), "--out", str(out)]
    # The actual and amortized exports of one enrollment deliver the same spend: never summed.
    overlap = _cli(*args)
    assert overlap.returncode == 1
    assert "ea-actual" in overlap.stderr and "ea-amortized" in overlap.stderr and "Traceback" not in overlap.stderr
    config = tmp_path / "finops.yaml"
    config.write_text("exports:\n  exclude: [ea-amortized]\n")
    result = _cli(*args, "--config", str(config))
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(out / "finops.duckdb"), read_only=True) as con:
        per_export = dict(con.execute(
            "SELECT export_name, line_items + rejected_rows FROM export_runs WHERE status = 'loaded'").fetchall())
    assert per_export == {e: n for e, n in data_rows.items() if e != "ea-amortized"}
