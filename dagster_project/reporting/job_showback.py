"""Job-level showback in the packs: the finance report's idle share per cluster and most expensive
experiments, and the engineer pack's page per submitter of what their jobs cost (`job_costs`).

Submitter, job and experiment names come from the Azure ML inventory — untrusted input: they are
escaped in HTML (`html.esc`), one-lined and escaped in Markdown, and become file names only
through the engineer pack's `safe_name` / `owner_folders`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from dagster_project.money import format_money
from dagster_project.sql import Relations, load_sql, relation_exists, relations, sql_parameters

TOP_EXPERIMENTS = 10
# Beside the owners' folders; `safe_name` strips a leading `_`, so no owner's folder is ever this.
JOBS_DIR = "_jobs"


@dataclass(frozen=True)
class JobViews:
    clusters: pl.DataFrame = field(default_factory=pl.DataFrame)  # finance_cluster_idle
    experiments: pl.DataFrame = field(default_factory=pl.DataFrame)  # finance_top_experiments


def has_job_costs(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse has `job_costs` (contract 1.5; a warehouse written before has none)."""
    return relation_exists(con, "job_costs")


def read_job_views(con: duckdb.DuckDBPyConnection, month: date, top_n: int = TOP_EXPERIMENTS,
                   present: Relations | None = None) -> JobViews:
    """`present`: the connection's `relations`, when the caller has read them."""
    if "job_costs" not in (present or relations(con)).names:
        return JobViews()
    def view(name: str, **extra) -> pl.DataFrame:
        statement = load_sql(f"reports/{name}")
        return con.sql(statement, params=sql_parameters(statement, billing_month=month, **extra)).pl()

    return JobViews(clusters=view("finance_cluster_idle"), experiments=view("finance_top_experiments", top_n=top_n))


# -- finance report (HTML) ------------------------------------------------------------------------

def job_showback_card(jobs: JobViews, currency: str, cid: str, suffix: str) -> str:
    """The card of one currency: idle share per cluster, then the most expensive experiments. No
    card when the month has no cluster cost in that currency."""
    # Imported here: html_tables reads finance, which reads this module's views.
    from dagster_project.reporting.charts import esc
    from dagster_project.reporting.html_tables import Column, table

    if jobs.clusters.height == 0:
        return ""
    clusters = jobs.clusters.filter(pl.col("billing_currency") == currency)
    if clusters.height == 0:
        return ""
    experiments = jobs.experiments.filter(pl.col("billing_currency") == currency)
    unit = f" ({currency})"
    out = [f'<div class="card" id="{cid}-clusters"><h3>Shared compute clusters{esc(suffix)}</h3>',
           '<p class="sub">Each cluster\'s cost divided among the jobs that ran on it by node-hours (each job to '
           'its project tag, else the cluster\'s project); what no job used is the idle line, charged to the '
           'cluster\'s project. Every job\'s part: the published table <code>job_costs</code> and the engineer pack\'s job pages.</p>',
           table(clusters, [Column("compute_name", "Cluster"), Column("workspace_name", "Workspace"),
                            Column("jobs", "Jobs", "int"), Column("projects", "Projects", "int"),
                            Column("effective_cost", "Cost" + unit, "money"),
                            Column("job_effective_cost", "Jobs" + unit, "money"),
                            Column("idle_effective_cost", "Idle" + unit, "money"),
                            Column("idle_node_hours", "Idle node-hours", "hours"),
                            Column("idle_share", "Idle share", "fraction"),
                            Column("idle_project", "Idle charged to")],
                 caption="Idle share per cluster"),
           "<h4>Most expensive experiments</h4>",
           table(experiments, [Column("experiment_name", "Experiment"), Column("projects", "Projects"),
                               Column("submitters", "Submitters"), Column("jobs", "Jobs", "int"),
                               Column("node_hours", "Node-hours", "hours"),
                               Column("effective_cost", "Cost" + unit, "money")],
                 caption=f"Top {TOP_EXPERIMENTS} experiments by cost"),
           "</div>"]
    return "".join(out)


# -- engineer pack (Markdown) ---------------------------------------------------------------------

def read_submitter_jobs(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    if not has_job_costs(con):
        return pl.DataFrame()
    statement = load_sql("reports/engineer_job_costs")
    return con.sql(statement, params=sql_parameters(statement, billing_month=month)).pl()


def _totals(frame: pl.DataFrame) -> str:
    per = frame.group_by("billing_currency").agg(pl.col("effective_cost").sum()).sort("billing_currency")
    return ", ".join(f"{format_money(r['effective_cost'])} {r['billing_currency']}" for r in per.iter_rows(named=True))


def render_submitter_markdown(submitter: str, month: date, frame: pl.DataFrame) -> str:
    from dagster_project.reporting.engineer import md_text

    lines = [f"# What your jobs cost — {md_text(submitter)} — {month:%Y-%m}", "",
             f"{frame.height} job(s) on shared compute clusters this month: **{md_text(_totals(frame))}** "
             "(effective cost). A job's part of its cluster's cost is its node-hours (time in the month × "
             "nodes) over the cluster's billed node-hours; it goes to the job's project tag, else the cluster's.",
             "", "| job | experiment | cluster | project | node-hours | cost | currency |",
             "|---|---|---|---|---:|---:|---|"]
    for r in frame.iter_rows(named=True):
        lines.append(f"| {md_text(r['job_name'])} | {md_text(r['experiment_name'] or '–')} | "
                     f"{md_text(r['compute_name'])} | {md_text(r['project'])} | "
                     f"{format_money(r['node_hours'])} | {format_money(r['effective_cost'])} | "
                     f"{md_text(r['billing_currency'])} |")
    return "\n".join(lines) + "\n"


def write_submitter_pages(frame: pl.DataFrame, month: date, engineers_dir: Path) -> dict[str, Path]:
    """`<engineers>/_jobs/<submitter>.md` per submitter and `_jobs/README.md` (submitters by cost);
    returns submitter → page. Nothing is written for a month without cluster jobs."""
    from dagster_project.reporting.engineer import md_text, owner_folders

    if frame.height == 0:
        return {}
    folder = engineers_dir / JOBS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    submitters = sorted(set(frame["submitter"].to_list()))
    names = owner_folders(submitters)
    pages: dict[str, Path] = {}
    ranked = []
    for submitter in submitters:
        mine = frame.filter(pl.col("submitter") == submitter)
        page = folder / f"{names[submitter]}.md"
        if page.resolve().parent != folder.resolve():
            raise ValueError(f"unsafe submitter page for {submitter!r}")
        page.write_text(render_submitter_markdown(submitter, month, mine), encoding="utf-8")
        pages[submitter] = page
        ranked.append((-sum(mine["effective_cost"].to_list(), Decimal(0)), submitter, mine))
    index = [f"# Job costs per submitter — {month:%Y-%m}", "",
             "What each submitter's jobs cost on shared compute clusters (job-level showback), largest first.",
             "", "| submitter | jobs | cost | page |", "|---|---:|---:|---|"]
    for _, submitter, mine in sorted(ranked, key=lambda r: (r[0], r[1])):
        index.append(f"| {md_text(submitter)} | {mine.height} | {md_text(_totals(mine))} | "
                     f"[{md_text(names[submitter])}.md](<{names[submitter]}.md>) |")
    (folder / "README.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    return pages
