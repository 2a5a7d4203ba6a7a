"""Load one billing month of export runs into DuckDB: `cost_line_items` and `cost_rejects`.

DuckDB reads the files itself (CSV, gzip CSV, Parquet) and streams them through the SQL in
`sql/staging/`; Python never loops over rows. Per schema group (FOCUS any version / EA, CSV or
Parquet) one statement reads the files once, types every row, decides whether it can be
published and inserts it into `cost_line_items`; a row that cannot be published goes in marked
with its reason, keeping its place in read order. CSV rows are then numbered from that order,
and the marked rows are moved to `cost_rejects` with file, 1-based data row and reason. The
month is replaced in one transaction: no reader ever sees a marked row, and any error rolls
everything back, so a failed load leaves the tables as they were.

File lists, the month and the cost basis are bound parameters. The only text spliced into a
statement is our own: a family's typed-rows fragment (`sql/staging/typed_cost_rows_*.sql`) into
`staging/cost_line_items.sql`, and a source fragment (`source_csv.sql` or `source_parquet.sql`)
into the `{{source}}` slot of that fragment, with one of two fixed expressions in the CSV
fragment's `{{ordinal}}` slot, and the name of the month's staged table (`month_tables`, built from
the month) into `{{staged_table}}`.

Columns a statement names but a file lacks (FOCUS 1.0 has no `x_ResourceGroupName`, for
instance) come from a header-only "stub" file read in the same `read_csv(union_by_name=true)`
call: it contributes the column, no rows.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from dagster_project import month_tables
from dagster_project.costs.discovery import ExportBlob, ExportRun, materialize_run
from dagster_project.costs.repair_csv import (
    BROKEN_RAW,
    BROKEN_REASON,
    CsvRepairError,
    repair_csv,
    sniff_encoding,
)
from dagster_project.costs.schemas import SchemaInfo, UnknownSchemaError, detect_schema, read_header
from dagster_project.sql import load_sql
from dagster_project.warehouse import DUCKDB_MEMORY_LIMIT, mark_staged, prepare, transaction

# Columns the typed-rows fragments name; the stub file provides the ones a file lacks.
FOCUS_STUB_COLUMNS = (
    "BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeClass", "ResourceId", "ResourceName", "ResourceType", "ServiceName",
    "SubAccountId", "x_ResourceGroupName", "RegionId", "RegionName", "x_SkuMeterCategory",
    "ChargeDescription", "ConsumedQuantity", "ConsumedUnit", "Tags", "x_SkuDetails", "SkuPriceDetails",
    "x_SkuMeterName", "SkuMeter", "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountType",
    "CommitmentDiscountStatus", "x_CostAllocationRuleName",
)
EA_STUB_COLUMNS = (
    "CostInBillingCurrency", "Cost", "ChargeType", "PricingModel", "PayGPrice", "Quantity",
    "BillingCurrencyCode", "BillingCurrency", "Date", "ResourceId", "ResourceName", "MeterCategory",
    "SubscriptionId", "SubscriptionGuid", "ResourceGroup", "ResourceLocation", "ProductName", "Product",
    "UnitOfMeasure", "Tags", "AdditionalInfo", "ResourceGroupName",
    "MeterName", "benefitId", "ReservationId", "benefitName", "ReservationName", "CostAllocationRuleName",
)
# Both families: the marker columns of a repaired CSV copy (repair_csv), NULL for every other file.
REPAIR_COLUMNS = (BROKEN_REASON, BROKEN_RAW)
_MACROS = ("cost_decimal", "cost_timestamp", "cost_tags", "cost_tags_braces", "cost_amount_suspect", "cost_json",
           "cost_scientific", "cost_long_decimal")


class CostLoadError(RuntimeError):
    """A load failed (unreadable / corrupt file, unsupported schema); nothing was published."""


@dataclass(frozen=True)
class BlobLoad:
    source_file: str  # relative to the export root
    export_name: str
    run_id: str | None
    source_schema: str
    expected_rows: int | None  # manifest dataRowCount
    rows_read: int  # data rows in the file: loaded + rejected
    rows_rejected: int

    @property
    def rows_loaded(self) -> int:
        return self.rows_read - self.rows_rejected

    @property
    def row_count_mismatch(self) -> bool:
        return self.expected_rows is not None and self.expected_rows != self.rows_read


@dataclass(frozen=True)
class CurrencyTotals:
    line_items: int
    billed_cost: Decimal
    effective_cost: Decimal


@dataclass
class LoadResult:
    month: date
    blobs: list[BlobLoad] = field(default_factory=list)
    rows_loaded: int = 0
    rows_rejected: int = 0
    totals: dict[str, CurrencyTotals] = field(default_factory=dict)  # per billing currency

    @property
    def source_files(self) -> list[str]:
        return [b.source_file for b in self.blobs]

    def row_count_mismatches(self) -> list[str]:
        """One message per blob whose data rows differ from its manifest's dataRowCount."""
        return [
            f"{b.source_file}: manifest dataRowCount {b.expected_rows}, file has {b.rows_read} data rows"
            for b in self.blobs if b.row_count_mismatch
        ]


@dataclass(frozen=True)
class _File:
    blob: ExportBlob
    run: ExportRun
    schema: SchemaInfo
    fmt: str  # csv | parquet
    relative: str


def _relative(run: ExportRun, blob: ExportBlob) -> str:
    if blob.relative:
        return blob.relative
    if run.root is not None:
        try:
            return Path(blob.path).resolve().relative_to(Path(run.root).resolve()).as_posix()
        except ValueError:
            pass
    return Path(blob.path).as_posix()


def _classify(runs: list[ExportRun], month: date) -> tuple[list[_File], list[BlobLoad]]:
    files: list[_File] = []
    empty: list[BlobLoad] = []
    for run in runs:
        if run.month != month:
            raise ValueError(f"run {run.run_id or run.range_folder} of {run.export_name} is for {run.month}, "
                             f"not {month}")
        for blob in run.blobs:
            rel = _relative(run, blob)
            path = Path(blob.path)
            if not path.is_file():
                raise CostLoadError(f"{rel}: listed export file is missing ({path})")
            if path.stat().st_size == 0:
                # A zero-byte blob holds no header and no rows: nothing to load, still counted.
                empty.append(BlobLoad(rel, run.export_name, run.run_id, "empty", blob.expected_rows, 0, 0))
                continue
            try:
                header = read_header(path)
                hint = f"{run.export_name}/{path.name}"
                schema = detect_schema(header, rel, run.data_version, run.export_type or _type_hint(hint))
            except UnknownSchemaError as exc:
                raise CostLoadError(str(exc).replace(str(path), rel)) from exc
            if not schema.loadable:
                raise CostLoadError(f"{rel}: schema {schema.name} is detected but not supported for loading yet")
            fmt = "parquet" if path.name.lower().endswith(".parquet") else "csv"
            files.append(_File(blob, run, schema, fmt, rel))
    return files, empty


def _type_hint(name: str) -> str | None:
    lowered = name.lower()
    if "amortized" in lowered:
        return "AmortizedCost"
    if "actual" in lowered:
        return "ActualCost"
    return None


def _stub(tmp: Path, family: str, fmt: str) -> Path:
    columns = (*(FOCUS_STUB_COLUMNS if family == "focus" else EA_STUB_COLUMNS), *REPAIR_COLUMNS)
    if fmt == "csv":
        path = tmp / f"stub_{family}.csv"
        path.write_text(",".join(columns) + "\n", encoding="utf-8")
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp / f"stub_{family}.parquet"
    pq.write_table(pa.table({c: pa.array([], pa.string()) for c in columns}), path)
    return path


def _with_source(statement: str, fmt: str, numbered: bool = False) -> str:
    """`statement` reading from the format's source fragment; `numbered` CSV reads number their rows.

    Parquet rows always carry the reader's file_row_number.
    """
    body = load_sql(f"staging/{statement}")
    source = load_sql(f"staging/source_{fmt}")
    # Only our own fragment goes in; comments are dropped so the splice stays one SELECT.
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("--"))
    source = source.replace("{{ordinal}}", "row_number() OVER ()" if numbered else "CAST(NULL AS BIGINT)")
    return body.replace("{{source}}", source)


@contextmanager
def _settings(con: duckdb.DuckDBPyConnection, **values: str | bool) -> Iterator[None]:
    """Apply DuckDB settings for the load and restore the previous values afterwards."""
    previous = {}
    for name in values:
        previous[name] = con.execute("SELECT current_setting(?)", [name]).fetchone()[0]
    try:
        for name, value in values.items():
            con.execute(f"SET {name} = ?", [value])  # names are our own literals, values bound
        yield
    finally:
        for name, value in previous.items():
            con.execute(f"SET {name} = ?", [value])


def _insert_statement(family: str, fmt: str, staged_table: str) -> str:
    """staging/cost_line_items with the family's typed rows, reading from the format's source, into
    the month's staged table."""
    typed = _with_source(f"typed_cost_rows_{family}", fmt)
    return _into(load_sql("staging/cost_line_items").replace("{{typed}}", typed), staged_table)


def _into(statement: str, staged_table: str) -> str:
    """A statement that writes the month's staged line items, with that table's name filled in (a
    name month_tables builds from the month, never input)."""
    return statement.replace("{{staged_table}}", staged_table)


def _probe_error(con: duckdb.DuckDBPyConnection, group: list[_File], exc: Exception) -> str:
    """Name the file a DuckDB read error came from (read each file alone if the message doesn't)."""
    message = str(exc)
    for f in group:
        if str(f.blob.path) in message:
            return f.relative
    if len(group) == 1:
        return group[0].relative
    for f in group:
        try:
            if f.fmt == "csv":
                con.execute("SELECT count(*) FROM read_csv(?, header = true, all_varchar = true)",
                            [[str(f.blob.path)]]).fetchone()
            else:
                con.execute("SELECT count(*) FROM read_parquet(?)", [[str(f.blob.path)]]).fetchone()
        except duckdb.Error:
            return f.relative
    return ", ".join(f.relative for f in group)


def _clean(message: str, group: list[_File], repaired: dict[str, Path] | None = None) -> str:
    """DuckDB's message as one short line: paths made relative, its advice dropped."""
    for f in group:
        message = message.replace(str(f.blob.path), f.relative)
        if repaired and f.relative in repaired:
            message = message.replace(str(repaired[f.relative]), f.relative)
    message = re.split(r"\n\s*(?:Possible (?:fixes|Solution)|The search space used was)", message)[0]
    return re.sub(r"\s+", " ", message).strip()


class _GroupFailed(Exception):
    """A group's read failed inside the load transaction; handled once it is rolled back."""

    def __init__(self, group: list[_File], fmt: str, error: duckdb.Error) -> None:
        super().__init__(str(error))
        self.group, self.fmt, self.error = group, fmt, error


_CSV_OPTIONS = "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', nullstr = ['']"


def _parses(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether DuckDB reads every field of one CSV file (all columns forced, so nothing is skipped)."""
    try:
        con.execute(f"SELECT max(length(COLUMNS(*))) FROM read_csv(?, {_CSV_OPTIONS})", [[str(path)]]).fetchall()  # noqa: S608 (fixed options)
    except duckdb.Error:
        return False
    return True


def _repair(f: _File, tmp: Path) -> Path:
    """The clean copy of a CSV DuckDB cannot read (see repair_csv); one line naming it otherwise."""
    target = tmp / "repaired" / f"{uuid.uuid4().hex}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        repair_csv(Path(f.blob.path), target)
    except (CsvRepairError, OSError, EOFError) as exc:  # a corrupt gzip is an OSError (BadGzipFile)
        raise CostLoadError(f"{f.relative}: cannot be read ({exc})") from None
    return target


def load_month(con: duckdb.DuckDBPyConnection, runs: list[ExportRun], month: date,
               memory_limit: str | None = DUCKDB_MEMORY_LIMIT) -> LoadResult:
    """Stage `month` of `cost_line_items` / `cost_rejects` from the rows of `runs`.

    The rows go to the `staging` schema (see `dagster_project.warehouse`): readers of the public
    tables see them only once the month is published. `runs` are the newest complete runs of the
    month (`discovery.runs_for_month`). Everything happens in one transaction; on any error the
    staged month is left as it was and a `CostLoadError` names the file. `memory_limit` caps
    DuckDB while loading (None: unchanged).
    """
    month = month.replace(day=1)
    runs = [materialize_run(r) for r in runs]  # remote sources: download the loaded runs only
    files, empty = _classify(runs, month)
    prepare(con)  # the one DDL home: the catalog, through the warehouse
    with tempfile.TemporaryDirectory(prefix="aml-finops-load-") as tmp:
        # UTF-16 files are transcoded up front; files DuckDB refuses are repaired after a failed
        # attempt (the fast path stays free of any pre-scan), then the month is loaded again.
        repaired = {f.relative: _repair(f, Path(tmp)) for f in files
                    if f.fmt == "csv" and sniff_encoding(Path(f.blob.path)) == "utf-16"}
        while True:
            try:
                return _load_attempt(con, files, empty, month, memory_limit, Path(tmp), repaired)
            except _GroupFailed as failed:
                culprits = [] if failed.fmt != "csv" else [
                    f for f in failed.group if f.relative not in repaired and not _parses(con, Path(f.blob.path))]
                if not culprits:
                    culprit = _probe_error(con, failed.group, failed.error)
                    raise CostLoadError(f"{culprit}: cannot be read "
                                        f"({_clean(str(failed.error), failed.group, repaired)})") from None
                for f in culprits:
                    repaired[f.relative] = _repair(f, Path(tmp))


def _load_attempt(con: duckdb.DuckDBPyConnection, files: list[_File], empty: list[BlobLoad], month: date,
                  memory_limit: str | None, tmp: Path, repaired: dict[str, Path]) -> LoadResult:
    groups: dict[tuple[str, str, str, str], list[_File]] = {}
    for f in files:
        basis = f.schema.cost_basis or "actual"
        groups.setdefault((f.schema.family, f.schema.name, f.fmt, basis), []).append(f)

    settings: dict[str, str | bool] = {"preserve_insertion_order": True}
    if memory_limit:
        settings["memory_limit"] = memory_limit
    result = LoadResult(month=month)
    counts: dict[str, tuple[int, int]] = {}
    with _settings(con, **settings):
        for macro in _MACROS:
            con.execute(load_sql(f"macros/{macro}"))
        con.execute(load_sql("schema/cost_reject_raw"))
        with transaction(con):
            staged_table = month_tables.begin_staging(con, "cost_line_items", month)
            con.execute(load_sql("staging/delete_cost_rejects_month"), {"billing_month": month})
            for (family, name, fmt, basis), group in sorted(groups.items()):
                paths = [str(repaired.get(f.relative, f.blob.path)) for f in group]
                relatives = [f.relative for f in group]
                family = "ea" if family == "mca" else family  # MCA: the EA fields in camelCase
                stub = str(_stub(Path(tmp), family, fmt))
                params: dict[str, object] = {"files": [*paths, stub], "billing_month": month, "paths": paths,
                                             "relatives": relatives, "source_schema": name}
                if family == "ea":
                    params["cost_basis"] = basis
                try:
                    con.execute(_insert_statement(family, fmt, staged_table), params)
                except duckdb.Error as exc:
                    raise _GroupFailed(group, fmt, exc) from exc
                in_group = {"billing_month": month, "relatives": relatives}
                if fmt == "csv":
                    con.execute(_into(load_sql("staging/cost_line_items_source_rows"), staged_table), in_group)
                for relative, rows, rejected in con.execute(load_sql("staging/cost_line_items_file_counts"),
                                                            in_group).fetchall():
                    counts[relative] = (rows, rejected)
                # Raw text only for rejected rows: re-read just the files that have any.
                path_of = dict(zip(relatives, paths, strict=True))
                for relative, rows in con.execute(load_sql("staging/cost_line_items_rejected_rows"), in_group).fetchall():
                    con.execute(_with_source("cost_reject_raw", fmt, numbered=True),
                                {"files": [path_of[relative], stub], "source_file": relative, "rows": rows})
                for f in group:
                    rows, rejected = counts.get(f.relative, (0, 0))
                    result.blobs.append(BlobLoad(f.relative, f.run.export_name, f.run.run_id, name,
                                                 f.blob.expected_rows, rows, rejected))
            con.execute(load_sql("staging/cost_rejects"), {"billing_month": month})
            con.execute(_into(load_sql("staging/delete_cost_line_items_rejected"), staged_table), {"billing_month": month})
            con.execute("DROP TABLE IF EXISTS cost_reject_raw")
            for table in ("cost_line_items", "cost_rejects"):
                mark_staged(con, month, table)
    result.blobs.extend(empty)
    result.blobs.sort(key=lambda b: b.source_file)
    result.rows_rejected = sum(b.rows_rejected for b in result.blobs)
    for currency, n, billed, effective in con.execute(
            load_sql("staging/cost_line_items_month_totals"), {"billing_month": month}).fetchall():
        result.totals[currency] = CurrencyTotals(n, billed, effective)
    result.rows_loaded = sum(t.line_items for t in result.totals.values())
    return result


def load_month_from_root(con: duckdb.DuckDBPyConnection, root: Path, month: date,
                         memory_limit: str | None = DUCKDB_MEMORY_LIMIT) -> LoadResult:
    """Discover the newest runs of `month` under `root` and load them."""
    from dagster_project.costs.discovery import runs_for_month

    return load_month(con, runs_for_month(root, month), month, memory_limit)
