"""The finance report's "changes since the last review": drift, resolved findings, the capture.

Read from `inventory_changes`, the `realized_savings` ledger and the month's findings; rendered
as one card of the finance page (`review_section_html`). Every value from the tenant is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from dagster_project.sql import Relations, load_sql, relations


@dataclass
class Review:
    changes: pl.DataFrame = field(default_factory=pl.DataFrame)
    resolved: pl.DataFrame = field(default_factory=pl.DataFrame)
    captures: list[str] = field(default_factory=list)


def read_review(con: duckdb.DuckDBPyConnection, month: date, present: Relations | None = None) -> Review:
    """The month's review; empty parts for a warehouse written before these tables existed
    (`present`: the connection's `relations`, when the caller has read them)."""
    names = (present or relations(con)).names
    params = {"billing_month": month}
    review = Review()
    if "inventory_changes" in names:
        review.changes = con.sql(load_sql("reports/review_inventory_changes"), params=params).pl()
    if "realized_savings" in names:
        review.resolved = con.sql(load_sql("reports/review_resolved_findings"), params=params).pl()
    if "findings" in names:
        review.captures = [r[0] for r in con.sql(load_sql("reports/review_judged_capture"), params=params).fetchall()
                           if r[0]]
    return review


def review_section_html(review: Review | None) -> str:
    """The card; nothing when there is no review to show."""
    if review is None:
        return ""
    from dagster_project.reporting.charts import esc
    from dagster_project.reporting.html_tables import Column, table

    judged = ", ".join(review.captures) or "unknown"
    out = ['<section class="card review" id="review"><h3>Changes since the last review</h3>',
           f'<p class="sub">Findings judged against the inventory captured <strong>{esc(judged)}</strong>. '
           "Drift between the captures since the previous month's review, and the findings that a later "
           "capture no longer showed, with the resource's cost before and after.</p>"]
    changes = review.changes
    if changes.height == 0:
        out.append('<p class="empty">No inventory changes since the last review.</p>')
    else:
        counts = changes.group_by("change").len().sort("change")
        summary = ", ".join(f"{n} {c}" for c, n in counts.iter_rows())
        out.append(f"<p>{esc(changes.height)} change{'s' if changes.height != 1 else ''} ({esc(summary)}).</p>")
        shown = changes.with_columns(pl.col("captured_after").dt.strftime("%Y-%m-%d %H:%MZ").alias("seen"))
        out.append(table(shown, [Column("seen", "Seen in capture"), Column("resource_kind", "Kind"),
                                 Column("workspace", "Workspace"), Column("resource_name", "Resource"),
                                 Column("change", "Change"), Column("field", "Field"), Column("before", "Before"),
                                 Column("after", "After")]))
    resolved = review.resolved
    if resolved.height:
        out.append(f"<h4>Resolved this month ({esc(resolved.height)})</h4>")
        out.append(table(resolved, [Column("rule_id", "Rule"), Column("resource_name", "Resource"),
                                    Column("owner", "Owner"), Column("currency", "Currency"),
                                    Column("cost_before", "Cost, month before", "money"),
                                    Column("cost_after", "Cost, month after", "money"),
                                    Column("realized", "Realized", "signed_money"),
                                    Column("ledger_status", "Ledger")]))
    out.append("</section>")
    return "".join(out)
