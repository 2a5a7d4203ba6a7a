"""Run the Dagster asset graph in-process, month by month, as `aml-finops run` and `demo` do.

The CLI does not have its own pipeline: it materializes the very assets `dagster dev` shows, with
resources pointing at the folders given on the command line, on an ephemeral Dagster instance.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
from dagster import AssetCheckSeverity, DagsterInstance

from dagster_project.config import ExportsSource
from dagster_project.findings.savings import open_findings_per_currency
from dagster_project.money import round_cents
from dagster_project.resources import CostExportsResource
from dagster_project.sql import load_sql, sql_parameters
from dagster_project.warehouse import Warehouse


class PipelineFailed(RuntimeError):
    """A step failed or a blocking check did not pass; the message says which and why."""


class PipelineUsageError(PipelineFailed):
    """What was asked cannot be run (a month no export covers, a month outside the partitions);
    found before any work is done."""


@dataclass
class RunSummary:
    """What the end of a run prints. `currency` is the latest month's largest currency; the
    single-currency fields (`unallocated_share_pct`, `findings_savings`) are for it, `totals`
    has every currency."""

    out_dir: Path
    months: list[date]
    latest_month: date | None = None
    project_spend: pl.DataFrame | None = None  # every project and currency, largest first
    unallocated_share_pct: Decimal | None = None
    findings_open: int = 0  # every currency
    findings_savings: Decimal = Decimal(0)
    currency: str = ""
    rejects: int = 0
    warnings: list[str] = field(default_factory=list)
    # Months not rebuilt because their inputs are unchanged (fingerprint), with the reason.
    skipped: list[tuple[date, str]] = field(default_factory=list)
    # Per currency, largest spend first: effective_cost, billed_cost, unallocated_effective_cost,
    # unallocated_share_pct, projects, open_findings, savings (exact decimals).
    totals: pl.DataFrame | None = None
    # The latest month's budgets (finance_budgets) and daily anomalies (finance_anomalies).
    budgets: pl.DataFrame | None = None
    anomalies: pl.DataFrame | None = None

    @property
    def currencies(self) -> list[str]:
        return [] if self.totals is None else self.totals["billing_currency"].to_list()


def exports_resource(exports) -> CostExportsResource:
    """A local folder path, or the `sources.exports` settings of finops.yaml, as the resource."""
    if isinstance(exports, CostExportsResource):
        return exports
    if isinstance(exports, ExportsSource):
        return CostExportsResource(kind=exports.kind, root=exports.path or "", account_url=exports.account_url,
                                   container=exports.container, root_path=exports.root_path, scope=exports.scope)
    return CostExportsResource(root=str(exports))


def _resources(out_dir: Path, exports: CostExportsResource, inventory: Path, config: Path | None) -> dict:
    from dagster_project.definitions import default_resources
    from dagster_project.resources import given_inventory

    return default_resources(out_dir=str(out_dir), exports=exports, inventory=given_inventory(inventory),
                             config=str(config) if config else None)


def _failure_message(result) -> str:
    """What failed, in the user's terms: failed blocking checks with their description, else the
    innermost error of each failed step (Dagster wraps user errors)."""
    messages = []
    for check in result.get_asset_check_evaluations():
        if not check.passed and check.severity == AssetCheckSeverity.ERROR:
            messages.append(f"check {check.asset_check_key.name} on {check.asset_key.to_user_string()} failed"
                            + (f": {check.description}" if check.description else ""))
    if messages:
        return "; ".join(messages)
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            text = error.message.strip() if error else "unknown error"
            cause = error.cause if error else None
            while cause is not None:
                text = cause.message.strip()
                cause = cause.cause
            messages.append(f"{event.step_key}: {one_line(text)}")
    return "; ".join(messages) or "the run failed"


def one_line(text: str) -> str:
    """An error message as one line without Python class paths: a leading
    `dagster._core.definitions.events.Failure: ` and any `pkg.mod.SomethingError:` inside are
    dropped; a builtin error's bare name (`TypeError`) stays."""
    import re

    text = " ".join(text.split())
    # A class name starts upper case: `finops.yaml: …` and `part_0_0001.csv: …` are not class paths.
    text = re.sub(r"^(?:[a-z_][a-z0-9_]*\.)+[A-Z][A-Za-z0-9_]*:\s*", "", text)
    return re.sub(r"\b(?:[a-z_][a-z0-9_]*\.)+[A-Z][A-Za-z0-9_]*(?:Error|Exception|Failure|Interrupt)\b:?\s*", "",
                  text)


# The CLI shows its own progress and a one-line error; Dagster's per-event console log (with its
# stack traces) would bury both. Failures are still read from the run's events.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def dagster_instance() -> DagsterInstance:
    """The instance a CLI run is recorded in: `$DAGSTER_HOME`'s when it is set (so `dagster dev`
    shows the CLI's materializations), else a throwaway one."""
    import os

    home = os.environ.get("DAGSTER_HOME")
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
        return DagsterInstance.get()
    return DagsterInstance.ephemeral()


def tune_garbage_collection() -> None:
    """Collect cyclic garbage less often, for a process that runs the pipeline and exits.

    A run imports dagster, azure-ai-ml and polars (well over a million long-lived objects), and
    CPython's default thresholds (700, 10, 10) then keep traversing them: 0.5-0.7 s of the demo's
    ~15 s (scripts/benchmark.py --demo). The rows live in DuckDB and Polars, not in Python objects,
    so collecting after 50,000 allocations instead of 700 costs no memory that matters. What is
    already imported (dagster, polars, duckdb: the CLI calls this after importing `runner`) is
    also frozen, moved out of every later collection: they live as long as the process. The
    demo's run then spends 0.16-0.17 s in the collector instead of 0.38-0.42 s (its one
    second-generation pass traversed them all). Called by the CLI for its own process only,
    never by the library functions.
    """
    import gc

    gc.set_threshold(50_000, 20, 20)
    gc.freeze()


def freeze_for_exit() -> None:
    """Leave the interpreter's last garbage collection nothing to traverse, for a process about to exit.

    After its atexit handlers CPython collects every tracked object once more before tearing the
    modules down; with dagster, azure-ai-ml and polars loaded that took ~1.4 s after the summary
    was printed (`aml-finops demo`: 17.0 s of wall time, 15.6 s of it before `main` returned).
    `gc.freeze()` moves the objects to the permanent generation, so that collection skips them:
    exit then takes ~0.1 s. Everything a command writes is closed before it returns (the warehouse
    connection, the packs, the published folders), atexit handlers still run, and the standard
    streams are still flushed. Called by the CLI for its own process only, as it returns.
    """
    import gc

    gc.freeze()


def inventory_partition(inventory: Path) -> str:
    """The capture-day partition of a snapshot folder (its `captured_at`, UTC)."""
    from assets.partitions import inventory_day_partitions
    from dagster_project.inventory.snapshot_paths import read_snapshot_info
    from dagster_project.inventory.store import list_captures

    captures = [] if (Path(inventory) / "snapshot.json").is_file() else list_captures(Path(inventory))
    try:
        # A store of captures (one folder per capture) replays its newest one.
        captured = captures[-1].captured_at if captures else read_snapshot_info(inventory).captured_at
    except ValueError as exc:
        raise PipelineUsageError(str(exc)) from None
    key = captured.date().isoformat()
    if not inventory_day_partitions.has_partition_key(key):
        first = inventory_day_partitions.get_first_partition_key()
        last = inventory_day_partitions.get_last_partition_key()
        raise PipelineUsageError(f"{inventory}: captured_at {captured.isoformat()} is outside the capture days "
                                 f"this pipeline runs ({first} to {last})")
    return key


def run_pipeline(exports: Path | ExportsSource | CostExportsResource, inventory: Path, out_dir: Path,
                 months: list[date] | None = None, config: Path | None = None,
                 progress: Callable[[str], None] | None = None, force: bool = False,
                 instance: DagsterInstance | None = None, allow_partial_inventory: bool = False) -> RunSummary:
    """Inventory once, then every month: ingest → attribute → spend → findings → reports.

    `exports` is a local export root, or `sources.exports` of finops.yaml (Blob Storage, the Cost
    Details API). Stops at the first failure or failed blocking check, and before any month when
    the inventory has failures (a workspace or call not read) unless `allow_partial_inventory`
    (they are then warnings of the summary and rows of `inventory_failures`). A month whose inputs are
    unchanged since it was published (`dagster_project.fingerprint`) is skipped and listed in
    `RunSummary.skipped`, unless `force`.
    """
    say = progress or (lambda message: None)
    exports = exports_resource(exports)
    months, warnings = plan_months(exports, months, out_dir, config, say)
    partition = inventory_partition(inventory)
    fingerprints, skipped, recorded = plan_skips(exports, months, inventory, out_dir, config, force)
    for month, reason in skipped:
        say(f"month {month:%Y-%m}: skipped, {reason}")
    todo = [m for m in months if m not in dict(skipped)]
    if todo:
        stale = [m for m in todo if m in recorded]
        _materialize_months(exports, inventory, out_dir, config, todo, fingerprints, stale, warnings, say,
                            instance, partition, allow_partial_inventory)
    summary = summarize(out_dir, months)
    summary.warnings = warnings
    summary.skipped = skipped
    return summary


def plan_skips(exports: CostExportsResource, months: list[date], inventory: Path, out_dir: Path,
               config: Path | None, force: bool) -> tuple[dict[date, str | None], list[tuple[date, str]], set[date]]:
    """Each month's input fingerprint (None: cannot be fingerprinted); the months to skip with the
    reason (the recorded fingerprint is the same and the month's published folders are all there;
    `force` skips nothing); and the months that have a recorded fingerprint."""
    from dagster_project import fingerprint as fp
    from dagster_project.config import load_config
    from dagster_project.costs.discovery import discover
    from dagster_project.reporting.packs import month_reports_dir

    warehouse = Warehouse(out_dir)
    recorded: dict[date, fp.Recorded] = {}
    if warehouse.database_path.exists():
        with warehouse.connect(read_only=True) as con:
            recorded = fp.recorded(con)
    fingerprints: dict[date, str | None] = dict.fromkeys(months)
    if exports.kind == "cost-details" or not months:
        return fingerprints, [], set(recorded)
    shared = (fp.snapshot_version(inventory), fp.config_version(config), fp.code_version())
    with exports.open() as source:
        found = discover(source, exclude=load_config(config).exports.exclude)
        for month in sorted(months):
            try:
                runs = found.runs_for(month)
            except ValueError:  # a blocked month: the run reports it
                continue
            earlier = [m for m in fingerprints if m < month and fingerprints[m] is not None]
            previous = fingerprints[max(earlier)] if earlier else next(
                (r.fingerprint for m, r in sorted(recorded.items(), reverse=True) if m < month), None)
            fingerprints[month] = fp.month_fingerprint(fp.runs_version(source, runs), *shared, previous)
    skipped = []
    for month in months:
        was = recorded.get(month)
        if force or was is None or fingerprints[month] != was.fingerprint:
            continue
        folders = (warehouse.month_parquet_dir("cost_line_items", month), month_reports_dir(out_dir, month))
        if all(folder.is_dir() for folder in folders):
            skipped.append((month, f"unchanged since its run of {was.recorded_at:%Y-%m-%d %H:%M} UTC (same "
                                   "export runs, inventory snapshot, configuration and code version); "
                                   "--force rebuilds it"))
    return fingerprints, skipped, set(recorded)


def _materialize_months(exports: CostExportsResource, inventory: Path, out_dir: Path, config: Path | None,
                        months: list[date], fingerprints: dict[date, str | None], stale: list[date],
                        warnings: list[str], say: Callable[[str], None],
                        instance: DagsterInstance | None = None, partition: str | None = None,
                        allow_partial_inventory: bool = False) -> None:
    from dagster_project import fingerprint as fp

    warehouse = Warehouse(out_dir)
    if stale:
        with warehouse.connect() as con:  # a rebuild that fails must not be skipped next time
            for month in stale:
                fp.forget(con, month)
    resources = _resources(out_dir, exports, inventory, config)
    published: list[date] = []
    # One writer connection for every asset and check of the run (see Warehouse.session).
    with warehouse.session() as con:
        try:
            _materialize(resources, months, warnings, published, say, instance, inventory, partition,
                         allow_partial_inventory)
        finally:  # the months published before a failure keep their fingerprint
            for month in published:
                if fingerprints.get(month) is not None:
                    fp.record(con, month, fingerprints[month])


def _materialize(resources: dict, months: list[date], warnings: list[str], published: list[date],
                 say: Callable[[str], None], instance: DagsterInstance | None = None, inventory: Path | None = None,
                 partition: str | None = None, allow_partial_inventory: bool = False) -> None:
    from dagster_project.definitions import build_definitions

    # The code location's own two jobs (the runs carry the names the UI shows), resolved once for
    # the whole run: `materialize()` builds a Definitions and its asset job anew for every month,
    # ~0.05 s a run of the no-op graph (scripts/benchmark.py --demo) and more with the resources.
    defs = build_definitions(resources)
    inventory_job, monthly_job = defs.resolve_job_def("inventory_job"), defs.resolve_job_def("monthly_job")
    # A given instance keeps the runs (the alert sensor reads them); else $DAGSTER_HOME's when set
    # (the UI shows CLI runs), else an ephemeral one.
    with nullcontext(instance) if instance is not None else dagster_instance() as instance:
        say("inventory: replaying the Azure ML snapshot through azure-ai-ml")
        result = inventory_job.execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET_RUN_CONFIG,
                                                  partition_key=partition, tags={"aml-finops/trigger": "cli"})
        if not result.success:
            raise PipelineFailed(f"inventory: {_failure_message(result)}")
        incomplete = [c for c in result.get_asset_check_evaluations() if not c.passed]
        if incomplete and not allow_partial_inventory:
            # Nothing of a refused inventory may stay staged: a later month would publish it.
            warehouse = resources["warehouse"].get()
            with warehouse.connect() as con:
                warehouse.discard_staged_inventory(con)
            raise PipelineFailed(f"inventory {inventory}: {incomplete[0].description}; nothing was published "
                                 "(--allow-partial-inventory publishes it anyway, the failures listed in "
                                 "inventory_failures)")
        warnings += [f"inventory: {c.description}" for c in incomplete]
        for index, month in enumerate(months, start=1):
            say(f"month {month:%Y-%m} ({index}/{len(months)}): ingest, attribute, find, publish")
            result = monthly_job.execute_in_process(partition_key=month.isoformat(), instance=instance,
                                                    raise_on_error=False, run_config=QUIET_RUN_CONFIG,
                                                    tags={"aml-finops/trigger": "cli"})
            evaluations = result.get_asset_check_evaluations()
            blocking = [c for c in evaluations if not c.passed and c.severity == AssetCheckSeverity.ERROR]
            if not result.success or blocking:
                raise PipelineFailed(f"month {month:%Y-%m}: {_failure_message(result)}")
            warnings += [f"{month:%Y-%m}: check {c.asset_check_key.name}: {c.description or 'failed'}"
                         for c in evaluations if not c.passed]
            published.append(month)


def plan_months(exports: CostExportsResource, months: list[date] | None, out_dir: Path, config: Path | None,
                say: Callable[[str], None]) -> tuple[list[date], list[str]]:
    """The months to run, checked before any work: each must be a partition and, for exports in a
    folder or container, covered by an export run. Also warns of published months whose exports
    are no longer found (they stay as published)."""
    from assets.partitions import billing_month_partitions
    from dagster_project.config import load_config
    from dagster_project.costs.discovery import discover

    keys = billing_month_partitions.get_partition_keys()
    first, last = date.fromisoformat(keys[0]), date.fromisoformat(keys[-1])
    for month in months or []:
        if not first <= month <= last:
            raise PipelineUsageError(f"month {month:%Y-%m} is outside the billing months this pipeline runs "
                                     f"({first:%Y-%m} to {last:%Y-%m})")
    if exports.kind == "cost-details":
        if not months:
            raise PipelineUsageError("the Cost Details API source needs the months to request: pass --month")
        return months, []
    say("discovering export runs")
    exclude = load_config(config).exports.exclude
    with exports.open() as source:
        found = discover(source, exclude=exclude)
    available = found.months()
    if not available:
        raise PipelineUsageError(found.nothing_found())
    if months:
        missing = [m for m in months if m not in available]
        if missing:
            raise PipelineUsageError(
                f"no export run for {', '.join(f'{m:%Y-%m}' for m in missing)} under {found.searched} "
                f"(months found: {', '.join(f'{m:%Y-%m}' for m in available)}); nothing was changed")
    warnings = [f"export run skipped: {w}" for w in found.warnings()]
    published = published_months(out_dir)
    gone = [m for m in published if m not in available]
    if gone:
        warnings.append(f"{', '.join(f'{m:%Y-%m}' for m in gone)} published before but no export of "
                        f"{'it' if len(gone) == 1 else 'them'} is found under {found.searched} now: "
                        "left as published")
    return (months or available), warnings


def published_months(out_dir: Path) -> list[date]:
    """Months already in the published `cost_line_items` of `out_dir` (none without a warehouse)."""
    warehouse = Warehouse(out_dir)
    if not warehouse.database_path.exists():
        return []
    with warehouse.connect(read_only=True) as con:
        try:
            return [row[0] for row in con.sql(load_sql("reports/published_months")).fetchall()]
        except duckdb.CatalogException:  # a file from before export_runs: only its line items' months
            return [row[0] for row in con.sql("SELECT DISTINCT billing_month FROM cost_line_items "
                                              "ORDER BY 1").fetchall()]


def summarize(out_dir: Path, months: list[date]) -> RunSummary:
    """What the end of a run prints: spend per project, totals per currency, unallocated share,
    findings, rejects."""
    summary = RunSummary(out_dir=out_dir, months=months, latest_month=max(months) if months else None)
    if not summary.latest_month:
        return summary
    params = {"billing_month": summary.latest_month}
    with Warehouse(out_dir).connect(read_only=True) as con:
        spend = con.sql(load_sql("reports/run_summary_spend"), params=params).pl()
        totals_sql = load_sql("reports/run_summary_totals")
        totals = con.sql(totals_sql, params=sql_parameters(totals_sql, **params)).pl()
        findings = open_findings_per_currency(con, summary.latest_month)
        # A warehouse from before budgets has no budget_status.
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'budget_status'").fetchall()[0][0]:
            summary.budgets = con.sql(load_sql("reports/finance_budgets"), params=params).pl()
        anomalies = load_sql("reports/finance_anomalies")
        summary.anomalies = con.sql(anomalies, params=sql_parameters(anomalies, **params)).pl()
        summary.rejects = con.sql(load_sql("reports/run_summary_rejects"),
                                  params={"months": list(months)}).fetchall()[0][0]
    summary.project_spend = spend
    totals = totals.join(findings, on="billing_currency", how="full", coalesce=True).with_columns(
        # A currency with findings but no spend this month (an empty month) has no spend row.
        pl.col("open_findings").fill_null(0), pl.col("savings").fill_null(Decimal(0)),
        pl.col("effective_cost").fill_null(Decimal(0)), pl.col("billed_cost").fill_null(Decimal(0)),
        pl.col("unallocated_effective_cost").fill_null(Decimal(0)), pl.col("projects").fill_null(0))
    share = [None if t == 0 or u is None else round_cents(u * 100 / t)
             for t, u in totals.select("effective_cost", "unallocated_effective_cost").iter_rows()]
    summary.totals = totals.with_columns(pl.Series("unallocated_share_pct", share, dtype=pl.Decimal(18, 2))).sort(
        ["effective_cost", "billing_currency"], descending=[True, False])
    summary.findings_open = int(findings["open_findings"].sum() or 0)
    if summary.totals.height:
        main = summary.totals.row(0, named=True)
        summary.currency = main["billing_currency"]
        summary.unallocated_share_pct = main["unallocated_share_pct"] or Decimal("0.00")
        summary.findings_savings = main["savings"] or Decimal(0)
    return summary
