"""Write a month's finance and engineer packs under `<out>/reports/<YYYY-MM>/`, atomically.

Everything is written to a staging folder beside the final one; only when every file is there
does the staging folder take the month's place (the old one is moved aside, then removed). A
failure leaves the previous reports of that month as they were.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from dagster_project.reporting.chargeback import (
    chargeback_lines,
    chargeback_totals,
    write_chargeback_csv,
)
from dagster_project.reporting.engineer import OwnerPack, read_open_findings, write_engineer_pack
from dagster_project.reporting.excel import write_workbook
from dagster_project.reporting.finance import FinanceViews, read_finance_views
from dagster_project.reporting.html import render_finance_html
from dagster_project.reporting.job_showback import (
    JOBS_DIR,
    read_submitter_jobs,
    write_submitter_pages,
)
from dagster_project.warehouse import swap_directory

# The finance pack's file names: the CLI, the Dagster metadata, README.md and docs/reports.md use
# these (a test holds them to it).
HTML_NAME = "report.html"
WORKBOOK_NAME = "workbook.xlsx"
CHARGEBACK_NAME = "chargeback.csv"
SCREENSHOT_NAME = "report.png"  # written by the browser test, next to the report


@dataclass(frozen=True)
class ReportPaths:
    """Where a month's packs were written, and what they hold."""

    month: date
    root: Path  # <out>/reports/<YYYY-MM>
    finance_dir: Path
    html: Path
    workbook: Path
    chargeback_csv: Path
    engineers_dir: Path
    engineers_index: Path
    owners: dict[str, Path] = field(default_factory=dict)  # owner → its folder
    sheets: list[str] = field(default_factory=list)
    chargeback_rows: int = 0
    open_findings: int = 0
    currencies: list[str] = field(default_factory=list)
    savings: dict[str, Decimal] = field(default_factory=dict)  # per currency, each resource once
    owner_packs: list[OwnerPack] = field(default_factory=list)
    chargeback_totals: dict[str, Decimal] = field(default_factory=dict)  # effective cost in cents, per currency


def month_reports_dir(out_dir: Path, month: date) -> Path:
    return Path(out_dir) / "reports" / f"{month:%Y-%m}"


def write_packs(root: Path, views: FinanceViews, findings: pl.DataFrame, jobs: pl.DataFrame) -> dict:
    """Write both packs of `views.month` under `root` (an empty folder) from frames already read:
    `findings` (`read_open_findings`) and the submitters' `jobs` (`read_submitter_jobs`). Returns
    what was written (sheets, chargeback rows and totals, owner packs, open findings)."""
    month = views.month
    finance = root / "finance"
    finance.mkdir(parents=True)
    generated = views.provenance.items()[3][1]
    sheets = write_workbook(views, finance / WORKBOOK_NAME, generated=generated)
    rows = write_chargeback_csv(views, finance / CHARGEBACK_NAME)
    totals = {r["currency"]: r["effective_cost"] for r in chargeback_totals(chargeback_lines(views)).iter_rows(named=True)}
    files = {"Excel workbook": WORKBOOK_NAME, "chargeback CSV": CHARGEBACK_NAME,
             "engineer pack": "../engineers/README.md"}
    (finance / HTML_NAME).write_text(render_finance_html(views, files), encoding="utf-8")
    packs = write_engineer_pack(findings, month, root / "engineers")
    if write_submitter_pages(jobs, month, root / "engineers"):
        with (root / "engineers" / "README.md").open("a", encoding="utf-8") as index:
            index.write("\nWhat each submitter's jobs cost on shared compute clusters: "
                        f"[{JOBS_DIR}/README.md](<{JOBS_DIR}/README.md>)\n")
    return {"sheets": sheets, "rows": rows, "packs": packs, "findings": findings.height, "totals": totals}


def write_month_reports(con: duckdb.DuckDBPyConnection, out_dir: Path, month: date,
                        staging: Path | None = None) -> ReportPaths:
    """Read the month's views from the warehouse `con` and write both packs for
    `<out_dir>/reports/<YYYY-MM>/` (`finance/` and `engineers/<owner>/`).

    With `staging` (an empty folder the warehouse registered), the packs are written there and the
    month's publication puts them in place; without, they replace the old ones right away. The
    returned paths are the final ones either way."""
    final = month_reports_dir(out_dir, month)
    final.parent.mkdir(parents=True, exist_ok=True)
    views = read_finance_views(con, month)
    publish_now = staging is None
    if staging is None:
        staging = final.parent / f".staging-{final.name}-{uuid.uuid4().hex[:8]}"
    try:
        written = write_packs(staging, views, read_open_findings(con, month), read_submitter_jobs(con, month))
    except BaseException:
        if publish_now:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if publish_now:
        swap_directory(staging, final)

    engineers = final / "engineers"
    savings: dict[str, Decimal] = {}
    for pack in written["packs"]:
        for currency, value in pack.savings.items():
            savings[currency] = savings.get(currency, Decimal(0)) + value
    return ReportPaths(
        month=month, root=final, finance_dir=final / "finance", html=final / "finance" / HTML_NAME,
        workbook=final / "finance" / WORKBOOK_NAME, chargeback_csv=final / "finance" / CHARGEBACK_NAME,
        engineers_dir=engineers, engineers_index=engineers / "README.md",
        owners={p.owner: engineers / p.folder for p in written["packs"]}, sheets=written["sheets"],
        chargeback_rows=written["rows"], open_findings=written["findings"], currencies=views.currencies,
        savings=dict(sorted(savings.items())), owner_packs=written["packs"],
        chargeback_totals=written["totals"],
    )
