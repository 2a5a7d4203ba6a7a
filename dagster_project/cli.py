"""`aml-finops`: the command line.

    aml-finops demo      [--out DIR] [--seed S] [--months N] [--rows N] [--config FILE]
    aml-finops demo-data --out DIR [--months N] [--rows N] [--seed S] [--schema focus-1.2|ea-amortized]
    aml-finops run       [--exports PATH|URL | --cost-details SCOPE] [--inventory PATH] [--month YYYY-MM]
                         [--config FILE] [--out DIR] [--allow-partial-inventory]
    aml-finops snapshot  --subscription S [--resource-group RG] [--workspace W] --out DIR
    aml-finops diff      SNAPSHOT_A SNAPSHOT_B [--format table|json|csv] [--config FILE]

Errors a user can fix (a missing folder, a bad month, an invalid `finops.yaml`, a failed check)
end in one line on stderr and exit status 2 (usage) or 1 (the run failed), never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import date
from pathlib import Path

from rich.console import Console

from dagster_project import __version__

console = Console(stderr=False, highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False)


class UsageError(ValueError):
    pass


def _month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month: {text!r} (expected YYYY-MM)") from None


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _existing_dir(path: str, what: str) -> Path:
    p = Path(path)
    if p.is_file():
        raise UsageError(f"{what} must be a folder, not a file: {p}")
    if not p.is_dir():
        raise UsageError(f"{what} folder not found: {p}")
    return p


def _output_dir(path: str) -> Path:
    """The output folder, checked before any work: a folder (or creatable) and writable."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"--out must be a folder, not a file: {p}")
    probe = p
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"--out cannot be created: {probe} is a file")
    import os

    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"--out is not writable: {probe}")
    return p


def _partial_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-partial-inventory", action="store_true",
                        help="publish even when some workspaces or calls of the inventory could not be read "
                             "(they are listed as warnings and in table inventory_failures); default: exit 1")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aml-finops",
        description="FinOps cost attribution and cleanup findings for Azure Machine Learning.",
    )
    parser.add_argument("--version", action="version", version=f"aml-finops {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors (anywhere on the line)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="generate the synthetic demo tenant and run every month on it",
                          description="Generate the synthetic Azure tenant (no Azure account, no network) into "
                                      "<out>/demo-tenant, then run the whole pipeline on every month.")
    demo.add_argument("--out", default="reports", help="output folder (default: reports)")
    demo.add_argument("--seed", type=int, default=42, help="tenant seed (default: 42)")
    demo.add_argument("--months", type=_positive, default=3, help="billing months (default: 3)")
    demo.add_argument("--rows", type=_positive, default=None, help="scale the line items to about N in total")
    demo.add_argument("--config", default=None,
                      help="finops.yaml (default: the demo tenant's own, with its budgets)")
    demo.add_argument("--force", action="store_true", help="rebuild months whose inputs are unchanged")
    _partial_flag(demo)

    data = sub.add_parser("demo-data", help="write the synthetic tenant: exports, inventory snapshot, expected.json",
                          description="Write the synthetic tenant's Cost Management exports, Azure ML inventory "
                                      "snapshot and ground truth (expected.json). Deterministic for a seed.")
    data.add_argument("--out", required=True, help="folder to write (replaced if it exists)")
    data.add_argument("--months", type=_positive, default=3, help="billing months (default: 3)")
    data.add_argument("--rows", type=_positive, default=None, help="total line items, up to 10,000,000")
    data.add_argument("--seed", type=int, default=42, help="tenant seed (default: 42)")
    data.add_argument("--schema", choices=["focus-1.2", "ea-amortized"], default="focus-1.2",
                      help="export schema (default: focus-1.2)")

    run = sub.add_parser("run", help="run the pipeline on exports and an inventory snapshot",
                         description="Ingest Cost Management exports, replay an Azure ML inventory snapshot, "
                                     "attribute spend, find cleanups and publish DuckDB + Parquet.")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--exports", help="export root: a folder in Azure's layout (e.g. an azcopy copy), or "
                                         "https://<account>.blob.core.windows.net/<container>[/<root>] "
                                         "(read with DefaultAzureCredential); default: sources.exports of --config")
    where.add_argument("--cost-details", metavar="SCOPE",
                       help="request the months from the Cost Details API for SCOPE (e.g. /subscriptions/<id>) "
                            "instead of reading exports; needs --month")
    run.add_argument("--inventory", help="inventory snapshot folder (default: sources.inventory of --config)")
    run.add_argument("--month", type=_month, action="append", default=None,
                     help="billing month YYYY-MM (repeatable; default: every month found)")
    run.add_argument("--config", default=None, help="finops.yaml (default: built-in defaults)")
    run.add_argument("--out", default="reports", help="output folder (default: reports)")
    run.add_argument("--force", action="store_true",
                     help="rebuild every month, even those whose inputs (export runs, inventory snapshot, "
                          "configuration, code version) are unchanged since they were published")
    _partial_flag(run)
    from dagster_project.inventory.cli_snapshot import add_snapshot_parser

    add_snapshot_parser(sub)
    from dagster_project.inventory.cli_diff import add_diff_parser

    add_diff_parser(sub)
    return parser


def _quiet_dagster() -> None:
    # The CLI shows its own progress; Dagster's per-event log lines would bury it.
    for name in ("dagster", "azure", "azure.ai.ml"):
        logging.getLogger(name).setLevel(logging.ERROR)


def budget_and_anomaly_lines(summary, shown: int = 5) -> list[str]:
    """The summary's budget line (overruns with forecast, budget and days left) and anomaly line."""
    from dagster_project.money import format_money, format_percent

    lines = []
    month = summary.latest_month
    budgets = summary.budgets
    if month is not None and budgets is not None and budgets.height:
        over = [r for r in budgets.iter_rows(named=True) if r["status"] != "on_track"]
        text = ", ".join(
            f"{r['name']} forecast {format_money(r['forecast'])} of {format_money(r['budget'])} {r['billing_currency']} "
            f"({format_percent(r['forecast_pct_of_budget'])}, {r['days_left']} days left)" for r in over[:shown])
        lines.append(f"Budgets {month:%Y-%m}: {len(over)} of {budgets.height} over" + (f": {text}" if text else ""))
    anomalies = summary.anomalies
    if month is not None and anomalies is not None and anomalies.height:
        text = "; ".join(f"{r['day']} {r['resource_name']} {format_money(r['excess'], signed=True)} "
                         f"{r['billing_currency']}" for r in anomalies.head(shown).iter_rows(named=True))
        more = f" (+{anomalies.height - shown} more)" if anomalies.height > shown else ""
        lines.append(f"Anomalies {month:%Y-%m}: {anomalies.height}: {text}{more}")
    return lines


def _print_summary(summary, elapsed: float, demo_root: Path | None = None, top: int = 15,
                   demo_seconds: float = 0.0) -> None:
    """Per currency: the `top` projects of the latest month, "N more (total …)", the currency's
    total; then findings, warnings and where the outputs are. Money as everywhere else
    (`dagster_project.money`): exact sums, shown half up to the cent."""
    import polars as pl
    from rich.table import Table

    from dagster_project.attribution.methods import COMMITMENT_PURCHASES, UNUSED_COMMITMENT
    from dagster_project.money import (
        format_fraction,
        format_money,
        format_per_currency,
        format_percent,
        total,
    )
    from dagster_project.reporting.finance import with_fractions
    from dagster_project.reporting.packs import CHARGEBACK_NAME, HTML_NAME, WORKBOOK_NAME

    # Explicit lines that are not projects, like (unallocated): never counted as projects.
    not_projects = [UNUSED_COMMITMENT, COMMITMENT_PURCHASES]

    def projects_in(frame) -> int:
        return frame.filter(~pl.col("project").is_in(not_projects))["project"].n_unique()

    month = summary.latest_month
    console.print()
    spend = summary.project_spend
    totals = {r["billing_currency"]: r for r in summary.totals.iter_rows(named=True)} \
        if summary.totals is not None else {}
    for currency in summary.currencies:
        row_total = totals[currency]
        lines = spend.filter(pl.col("billing_currency") == currency) if spend is not None else None
        projects = row_total["projects"]  # every project but (unallocated); nor the commitment lines:
        if lines is not None:
            projects -= lines.filter(pl.col("project").is_in(not_projects))["project"].n_unique()
        if lines is not None and lines.height:
            lines = with_fractions(lines, "effective_cost", "share", by=[])
            table = Table(title=f"Spend per project, {month:%Y-%m} ({currency}, effective cost)", show_footer=True)
            table.add_column("project", footer="total")
            table.add_column("effective cost", justify="right", footer=format_money(total(lines["effective_cost"])))
            table.add_column("share", justify="right", footer=format_fraction(total(lines["share"]))
                             if lines["share"].null_count() == 0 else "")
            table.add_column("vs previous month", justify="right")
            for row in lines.head(top).iter_rows(named=True):
                change = "" if row["change_pct"] is None else format_percent(row["change_pct"], signed=True)
                table.add_row(row["project"], format_money(row["effective_cost"]), format_fraction(row["share"]),
                              change)
            rest = lines.slice(top)
            if rest.height:
                rest_total = format_money(total(rest["effective_cost"]))
                table.add_row(f"{projects_in(rest)} more", rest_total,
                              format_fraction(total(v for v in rest["share"] if v is not None)), "", style="italic")
                table.caption = f"{projects_in(rest)} more (total {rest_total}) in {WORKBOOK_NAME}"
            console.print(table)
        console.print(f"Total {currency}: effective cost {format_money(row_total['effective_cost'])}, billed cost "
                      f"{format_money(row_total['billed_cost'])}, {projects} projects; unallocated "
                      f"{format_money(row_total['unallocated_effective_cost'])} "
                      f"({format_percent(row_total['unallocated_share_pct'])})")
    if not summary.currencies:
        console.print(f"No spend in {month:%Y-%m}" if month else "No month was run")
    if month is not None and len(totals) > 1:
        shares = ", ".join(f"{format_percent(r['unallocated_share_pct'] or 0)} ({c})" for c, r in totals.items())
        console.print(f"Unallocated share of {month:%Y-%m}: {shares}")
    elif month is not None:
        console.print(f"Unallocated share: {format_percent(summary.unallocated_share_pct or 0)} of {month:%Y-%m}")
    savings = format_per_currency({c: r["savings"] for c, r in totals.items() if r["open_findings"]})
    console.print(f"Findings: {summary.findings_open} open, estimated savings {savings}")
    for skipped, reason in summary.skipped:
        console.print(f"Skipped {skipped:%Y-%m}: {reason}")
    if summary.skipped and len(summary.skipped) == len(summary.months):
        console.print("Nothing was published: every month's inputs are unchanged")
    for line in budget_and_anomaly_lines(summary):
        console.print(line)
    for warning in summary.warnings:
        console.print(f"[yellow]Warning: {warning}[/yellow]")
    if summary.rejects:
        console.print(f"[yellow]Rejected rows: {summary.rejects} (see table cost_rejects)[/yellow]")
    out = summary.out_dir
    console.print(f"Outputs: {out / 'finops.duckdb'} and {out / 'parquet'}/")
    if month is not None:
        from dagster_project.reporting import month_reports_dir

        reports = month_reports_dir(out, month)
        console.print(f"Finance pack: {reports / 'finance' / HTML_NAME} (+ {WORKBOOK_NAME}, {CHARGEBACK_NAME})")
        console.print(f"Engineer packs: {reports / 'engineers' / 'README.md'} (one folder per owner)")
    if demo_root:
        console.print(f"Demo tenant: {demo_root} (ready in {demo_seconds:.1f} s; ground truth in "
                      f"{demo_root / 'expected.json'})")
    console.print(f"Months: {', '.join(f'{m:%Y-%m}' for m in summary.months)} in {elapsed:.1f} s")


def _run_with_progress(label: str, work):
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err_console, transient=False) as progress:
        task = progress.add_task(label, total=None)

        def say(message: str) -> None:
            progress.update(task, description=message)
            progress.console.log(message)

        return work(say)


def cmd_demo_data(args) -> int:
    from dagster_project.demo.generate import generate_demo

    out = Path(args.out)
    paths = _run_with_progress("generating the demo tenant", lambda say: generate_demo(
        out, seed=args.seed, months=args.months, rows=args.rows, schema=args.schema, progress=say))
    console.print(f"Demo tenant written to {paths.root}: exports in {paths.exports}, "
                  f"inventory snapshot in {paths.inventory}, ground truth in {paths.expected}")
    return 0


def cmd_demo(args) -> int:
    from dagster_project.demo.generate import generate_demo
    from dagster_project.runner import run_pipeline

    out = _output_dir(args.out)
    config = Path(args.config) if args.config else None
    if config and not config.is_file():
        raise UsageError(f"configuration file not found: {config}")
    from dagster_project.config import load_config

    load_config(config)  # a bad file fails here, before any work

    def work(say):
        # Two clocks: writing the synthetic tenant is not pipeline time, and "Months: … in N s"
        # is the pipeline's alone, as `aml-finops run` prints it (a first `make demo` writes the
        # tenant, a later one reuses it).
        started = time.monotonic()
        paths = generate_demo(out / "demo-tenant", seed=args.seed, months=args.months, rows=args.rows,
                              reuse=True, progress=say)
        written = time.monotonic()
        # Without --config the tenant's own finops.yaml (its budgets) applies.
        summary = run_pipeline(paths.exports, paths.inventory, out, config=config or paths.config,
                               progress=say, force=args.force, allow_partial_inventory=args.allow_partial_inventory)
        return paths, summary, written - started, time.monotonic() - written

    paths, summary, tenant_seconds, pipeline_seconds = _run_with_progress("demo", work)
    _print_summary(summary, pipeline_seconds, demo_root=paths.root, demo_seconds=tenant_seconds)
    return 0


def _exports_from_args(args, config):
    """The export source: --exports / --cost-details, else `sources.exports` of finops.yaml."""
    from urllib.parse import urlparse

    from dagster_project.config import ExportsSource

    if args.cost_details:
        if not args.month:
            raise UsageError("--cost-details needs --month (the API produces one month per request)")
        return ExportsSource(kind="cost-details", scope=args.cost_details)
    if args.exports and args.exports.startswith("https://"):
        url = urlparse(args.exports)
        container, _, root = url.path.strip("/").partition("/")
        if not container:
            raise UsageError(f"--exports URL names no container: {args.exports}")
        return ExportsSource(kind="blob", account_url=f"https://{url.netloc}", container=container, root_path=root)
    if args.exports:
        return _existing_dir(args.exports, "exports")
    if config.sources.exports is not None:
        exports = config.sources.exports
        return _existing_dir(exports.path, "exports") if exports.kind == "local" else exports
    raise UsageError("say where the exports are: --exports PATH|URL, --cost-details SCOPE, "
                     "or sources.exports in --config")


def _synced_store(snapshots, out: Path) -> Path:
    """The local folder of the snapshot store in `sources.snapshots` (a Blob store synced into its
    cache first), checked to hold a capture: the run replays the newest and judges each month
    against its own."""
    from dagster_project.inventory.store import SnapshotStoreError, newest_capture, open_store

    store = open_store(path=snapshots.path, account_url=snapshots.account_url, container=snapshots.container,
                       root_path=snapshots.root_path, cache_dir=snapshots.cache_dir, out_dir=out)
    try:
        newest_capture(store)
        return Path(store.local_root)
    except SnapshotStoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()


def cmd_run(args) -> int:
    from dagster_project.config import load_config
    from dagster_project.runner import run_pipeline

    config_path = Path(args.config) if args.config else None
    if config_path is not None and not config_path.is_file():
        raise UsageError(f"configuration file not found: {config_path}")
    config = load_config(config_path)  # a bad file fails here, before any work, with the key that is wrong
    out = _output_dir(args.out)
    exports = _exports_from_args(args, config)
    inventory_dir = args.inventory or config.sources.inventory
    if inventory_dir:
        inventory = _existing_dir(inventory_dir, "inventory snapshot")
    elif config.sources.snapshots is not None:
        inventory = _synced_store(config.sources.snapshots, out)
    else:
        raise UsageError("say where the inventory snapshot is: --inventory DIR, or sources.inventory or "
                         "sources.snapshots in --config")
    started = time.monotonic()
    months = sorted(set(args.month)) if args.month else None
    summary = _run_with_progress("run", lambda say: run_pipeline(
        exports, inventory, out, months=months, config=config_path, progress=say, force=args.force,
        allow_partial_inventory=args.allow_partial_inventory))
    _print_summary(summary, time.monotonic() - started)
    return 0


def cmd_snapshot(args) -> int:
    from dagster_project.inventory.cli_snapshot import cmd_snapshot as record

    return record(args)


def _error(message: str) -> None:
    # Plain print: rich would wrap a long path across lines.
    print(message, file=sys.stderr)


def cmd_diff(args) -> int:
    from dagster_project.inventory.cli_diff import cmd_diff as diff

    return diff(args)


COMMANDS = {"demo": cmd_demo, "demo-data": cmd_demo_data, "run": cmd_run, "snapshot": cmd_snapshot, "diff": cmd_diff}


def _one_line(exc: BaseException) -> str:
    from dagster_project.runner import one_line

    return one_line(str(exc))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    raw = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in raw
    args = parser.parse_args([a for a in raw if a != "--debug"])
    _quiet_dagster()
    from dagster_project.config import ConfigError
    from dagster_project.runner import (
        PipelineFailed,
        PipelineUsageError,
        freeze_for_exit,
        tune_garbage_collection,
    )
    from dagster_project.warehouse import WarehouseLayoutError

    if argv is None:  # the console script: the process is ours (a caller passing argv keeps its own)
        tune_garbage_collection()

    try:
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError, PipelineUsageError, WarehouseLayoutError) as exc:  # the input must change
        if debug:
            raise
        _error(f"aml-finops {args.command}: error: {_one_line(exc)}")
        return 2
    except KeyboardInterrupt:
        _error("aml-finops: interrupted; the published outputs are those of the last completed month")
        return 130
    except Exception as exc:  # noqa: BLE001 (one line for the user; --debug shows the traceback)
        if debug:
            raise
        known = (PipelineFailed, FileNotFoundError, ValueError, OSError)
        detail = _one_line(exc) if isinstance(exc, known) else f"{type(exc).__name__}: {_one_line(exc)}"
        _error(f"aml-finops {args.command}: error: {detail}")
        return 1
    finally:
        if argv is None:
            freeze_for_exit()


if __name__ == "__main__":
    sys.exit(main())
