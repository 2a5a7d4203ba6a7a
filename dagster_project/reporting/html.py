"""The finance report as one self-contained HTML page: inline CSS, server-side SVG charts, a small
inline script (sortable tables, a render self-check), no external resource of any kind.

This module builds the page's sections from the finance views; the charts are `charts.py`, the
tables `html_tables.py`, and the page's frame, stylesheet and scripts are files under
`reporting/web/` (`report.html`, `report.css`, `report_errors.js`, `report_page.js`), loaded like
the SQL and inlined into the page. The script only enhances the page (click a column header to
sort) and records whether the charts laid out and whether any script error happened, as
attributes on `<html>` (`data-charts-drawn`, `data-charts-expected`, `data-script-errors`) that
the browser test reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path
from string import Template

import polars as pl

from dagster_project.money import format_fraction, format_money, format_percent, total
from dagster_project.reporting.budget_cards import anomalies_card, budgets_card
from dagster_project.reporting.charts import (
    COVERAGE_COLORS,
    DOWN,
    GREY,
    PALETTE,
    UP,
    Bar,
    as_float,
    bar_chart,
    capped,
    esc,
    script_json,
    stacked_bar,
    trend_panels,
)
from dagster_project.reporting.finance import (
    CURRENCY,
    KIND_LABELS,
    UNALLOCATED,
    FinanceViews,
    column_total,
    for_currency,
    mover_explanations,
    with_fractions,
)
from dagster_project.reporting.html_tables import Column, sum_table, table, trend_table, txt_class
from dagster_project.reporting.job_showback import job_showback_card

WEB = Path(__file__).resolve().parent / "web"  # the page's frame, stylesheet and scripts (package data)


@cache
def web_file(name: str) -> str:
    """The text of `reporting/web/<name>` (`report.css`, `report_page.js`, …)."""
    path = WEB / name
    if not path.is_file():
        raise FileNotFoundError(f"report file not found: {path}")
    return path.read_text(encoding="utf-8")


def page_template() -> Template:
    """`report.html`: the page's frame; `$name` placeholders take the escaped parts."""
    return Template(web_file("report.html"))


# -- page ----------------------------------------------------------------------------------------

def _project_colors(views: FinanceViews, currency: str) -> dict[str, str]:
    ranked = for_currency(views.projects, currency)["project"].to_list()
    ranked += sorted(set(for_currency(views.trend, currency)["project"].to_list()) - set(ranked))
    colors, index = {}, 0
    for project in ranked:
        if project == UNALLOCATED:
            colors[project] = GREY
        else:
            colors[project] = PALETTE[index % len(PALETTE)]
            index += 1
    return colors


def _kpis(views: FinanceViews, currency: str) -> str:
    summary = for_currency(views.summary, currency).row(0, named=True)
    coverage = {r["coverage"]: r for r in for_currency(views.coverage, currency).iter_rows(named=True)}
    findings = for_currency(views.findings, currency)
    change = summary["change_pct"]
    delta = (summary["effective_cost"] - summary["previous_effective_cost"]
             if summary["previous_effective_cost"] is not None else None)
    change_text = ("no previous month available" if change is None and delta is None else
                   f"{format_percent(change, signed=True)} ({format_money(delta, signed=True)}) vs previous month")
    tone = "" if delta is None or delta == 0 else (" up" if delta > 0 else " down")
    month_total = summary["effective_cost"]

    def share(amount: Decimal | None) -> Decimal | None:  # exact fraction of the month's total
        return None if not month_total or amount is None else amount / month_total

    unallocated_share = share(summary["unallocated_effective_cost"])
    warn = " warn" if unallocated_share is not None and unallocated_share >= Decimal("0.05") else ""
    tagged = share(total(coverage[k]["effective_cost"] for k in ("own tag", "inherited tag") if k in coverage))
    own = share(coverage["own tag"]["effective_cost"]) if "own tag" in coverage else None
    unallocated = for_currency(views.unallocated, currency)
    known = total(unallocated.filter(pl.col("owner_hint_strength") == "known")["effective_cost"].to_list())
    cards = [
        ("Effective cost", f"{format_money(summary['effective_cost'])}", currency,
         f'<span class="{tone.strip()}">{esc(change_text)}</span>'),
        ("Billed cost", f"{format_money(summary['billed_cost'])}", currency, "invoice basis (purchases when billed)"),
        ("Unallocated", format_fraction(unallocated_share), "",
         f"{esc(format_money(summary['unallocated_effective_cost']))} {esc(currency)} with no project; "
         f"{esc(format_money(known))} of it has a known owner"),
        ("Tag coverage", format_fraction(tagged), "",
         f"{esc(format_fraction(own))} from the resource's own tag, the rest inherited"),
    ]
    if findings.height:
        f = findings.row(0, named=True)
        cards.append(("Cleanup identified", format_money(f["savings"]), currency,
                      f"per month · {f['open_findings']:,} open findings on {f['resources']:,} resources"))
    html_cards = []
    for title, value, unit, note in cards:
        klass = " warn" if title == "Unallocated" and warn else ""
        html_cards.append(f'<div class="kpi{klass}"><div class="kpi-title">{esc(title)}</div>'
                          f'<div class="kpi-value">{esc(value)} <span class="unit">{esc(unit)}</span></div>'
                          f'<div class="kpi-note">{note}</div></div>')
    return f'<div class="kpis">{"".join(html_cards)}</div>'


def _movers_card(views: FinanceViews, currency: str, cid: str, suffix: str) -> tuple[str, int]:
    movers = for_currency(views.movers, currency)
    out = [f'<div class="card" id="{cid}-movers"><h3>Top movers month over month{esc(suffix)}</h3>']
    if not movers.height:
        out.append('<p class="empty">No previous month in the warehouse to compare with.</p></div>')
        return "".join(out), 0
    explained = mover_explanations(views, currency)
    bars = [Bar(r["project"], r["change"], UP if r["change"] > 0 else DOWN,
                {"new": "new", "gone": "no spend this month"}.get(r["direction"], format_percent(r["change_pct"], signed=True)))
            for r in movers.iter_rows(named=True)]
    out.append('<p class="sub">Change in effective cost from the month before, increases in red, and the resources '
               'whose change explains it (a compute or endpoint by name, else the billed resource).</p>')
    out.append(bar_chart(bars, currency, f"Top movers ({currency})", f"{cid}-chart-movers", signed=True))
    head = ("<tr><th scope=\"col\" class=\"num\">#</th><th scope=\"col\" class=\"txt\">Project</th>"
            "<th scope=\"col\" class=\"num\">Previous month</th><th scope=\"col\" class=\"num\">This month</th>"
            "<th scope=\"col\" class=\"num\">Change</th><th scope=\"col\" class=\"txt\">What moved</th></tr>")
    rows = []
    for r in movers.iter_rows(named=True):
        tone = " up" if r["change"] > 0 else (" down" if r["change"] < 0 else "")
        pct = {"new": "new", "gone": "gone"}.get(r["direction"], format_percent(r["change_pct"], signed=True))
        items = []
        for line in explained.get(r["project"], []):
            kind = f' <span class="muted">{esc(line["kind"])}</span>' if line["kind"] else ""
            line_tone = "up" if line["change"] > 0 else "down"
            items.append(f'<li><span class="driver">{esc(line["resource"])}</span>{kind} '
                         f'<span class="{line_tone}">{esc(format_money(line["change"], signed=True))}</span></li>')
        drivers = f'<ul class="drivers">{"".join(items)}</ul>' if items else '<span class="muted">–</span>'
        rows.append(f'<tr><td class="num">{r["rank"]}</td><td class="{txt_class(r["project"])}">{esc(r["project"])}</td>'
                    f'<td class="num">{esc(format_money(r["previous_effective_cost"]))}</td>'
                    f'<td class="num">{esc(format_money(r["effective_cost"]))}</td>'
                    f'<td class="num{tone}">{esc(format_money(r["change"], signed=True))}<br>'
                    f'<span class="small">{esc(pct)}</span></td><td class="txt">{drivers}</td></tr>')
    out.append(f'<div class="table-wrap"><table class="data movers"><thead>{head}</thead>'
               f'<tbody>{"".join(rows)}</tbody></table></div></div>')
    return "".join(out), int(any(b.value for b in bars))


def _unallocated_card(views: FinanceViews, currency: str, cid: str, suffix: str) -> str:
    frame = for_currency(views.unallocated, currency).filter(pl.col("effective_cost") != 0)
    out = [f'<div class="card" id="{cid}-unallocated"><h3>What {esc(UNALLOCATED)} is made of{esc(suffix)}</h3>']
    if frame.height == 0:
        out.append('<p class="empty">Every amount of the month reached a project.</p></div>')
        return "".join(out)

    def part(strength: str) -> Decimal:
        return total(frame.filter(pl.col("owner_hint_strength") == strength)["effective_cost"].to_list())

    known, likely = part("known"), part("likely")
    out.append(f'<p class="sub">Spend no project tag, inherited tag or rule reached, per resource. '
               f'<strong>{esc(format_money(known))} {esc(currency)}</strong> of it has a known owner (its owner tag or '
               f'creator) and {esc(format_money(likely))} {esc(currency)} a likely one (the people active in its workspace). '
               'Ask them to tag it (the fix below, or a <code>tags.rules</code> entry in finops.yaml) and from the next '
               'run it lands on its project.</p>')
    head = ('<tr><th scope="col" class="txt">Resource</th><th scope="col" class="txt">Workspace</th>'
            '<th scope="col" class="txt">Owner hint</th><th scope="col" class="num">Effective cost</th>'
            '<th scope="col" class="txt">Fix</th></tr>')
    rows = []
    for r in frame.iter_rows(named=True):
        kind = KIND_LABELS.get(r["aml_kind"], r["aml_kind"])
        who = esc(r["owner_hint"]) if r["owner_hint"] else "–"
        fix = (f'<code class="cmd">{esc(r["fix_command"])}</code>' if r["fix_command"] else
               '<span class="muted">tag it <code>project=&lt;project&gt;</code> (below the findings\' '
               'untagged-spend threshold)</span>')
        rows.append(f'<tr><td class="{txt_class(r["resource"])}">{esc(r["resource"])}<br>'
                    f'<span class="muted small">{esc(kind)}</span></td>'
                    f'<td class="{txt_class(r["workspace"])}">{esc(r["workspace"] or "–")}</td>'
                    f'<td class="{txt_class(r["owner_hint"])}">{who}<br><span class="muted small">{esc(r["owner_hint_source"])}</span></td>'
                    f'<td class="num">{esc(format_money(r["effective_cost"]))}</td><td class="txt fix">{fix}</td></tr>')
    foot = (f'<tfoot><tr class="total"><td class="txt">Total</td><td></td><td></td>'
            f'<td class="num">{esc(format_money(total(frame["effective_cost"].to_list())))}</td><td></td></tr></tfoot>')
    out.append(f'<div class="table-wrap"><table class="data unallocated"><thead>{head}</thead>'
               f'<tbody>{"".join(rows)}</tbody>{foot}</table></div></div>')
    return "".join(out)


def _findings_card(views: FinanceViews, currency: str, cid: str, suffix: str) -> str:
    frame = for_currency(views.findings_by_project, currency)
    out = [f'<div class="card" id="{cid}-findings"><h3>Cleanup findings by project{esc(suffix)}</h3>']
    if frame.height == 0:
        out.append('<p class="empty">No open cleanup findings this month.</p></div>')
        return "".join(out)
    out.append('<p class="sub">Open findings and their estimated monthly savings; a resource flagged by several rules '
               'counts once, with its largest estimate. Every finding, its owner and its command are in the '
               'workbook\'s Findings sheet and the engineer pack.</p>')
    out.append(sum_table(frame, [Column("project", "Project"), Column("open_findings", "Open findings", "int"),
                                  Column("resources", "Resources", "int"),
                                  Column("savings", "Est. savings / month", "money"), Column("rules", "Rules")],
                          ["savings"], highlight=UNALLOCATED))
    out.append("</div>")
    return "".join(out)


def _commitments_card(views: FinanceViews, currency: str, cid: str, suffix: str) -> str:
    """Per reservation / savings plan of `currency`: purchases, covered usage, unused, utilization.
    Empty (no card at all) when the currency has no commitment rows this month."""
    frame = for_currency(views.commitments, currency)
    if frame.height == 0:
        return ""
    unit = f" ({currency})"
    columns = [Column("commitment_discount_name", "Commitment"), Column("commitment_discount_type", "Type"),
               Column("purchased_billed_cost", "Purchases, billed" + unit, "money"),
               Column("covered_effective_cost", "Covered usage" + unit, "money"),
               Column("covered_hours", "Covered hours", "hours"),
               Column("unused_effective_cost", "Unused" + unit, "money"),
               Column("unused_hours", "Unused hours", "hours"),
               Column("utilization_pct", "Utilization", "pct")]
    sums = ("purchased_billed_cost", "covered_effective_cost", "covered_hours", "unused_effective_cost",
            "unused_hours")
    return (f'<div class="card" id="{cid}-commitments"><h3>Commitments{esc(suffix)}</h3>'
            f'<p class="sub">Reservations and savings plans of {esc(f"{views.month:%B %Y}")}, amounts in '
            f'{esc(currency)}: what was bought (billed cost of the purchases), the usage each covered and what '
            'went unused (effective cost and hours; the unused part is charged to the unused-commitment project), '
            'and the utilization in hours.</p>'
            + table(frame, columns, totals={k: column_total(frame, k) for k in sums}) + "</div>")


def _currency_section(views: FinanceViews, currency: str, index: int, multi: bool) -> tuple[str, int]:
    colors = _project_colors(views, currency)
    cid = f"c{index}"
    charts = 0
    projects = for_currency(views.projects, currency)
    trend = for_currency(views.trend, currency)
    coverage = for_currency(views.coverage, currency)
    owners = for_currency(views.owners, currency)
    centers = for_currency(views.cost_centers, currency)
    suffix = f" — {currency}" if multi else ""
    out = [f'<section class="currency" id="{cid}" data-currency="{esc(currency)}">']
    if multi:
        out.append(f"<h2 class=\"currency-title\">Amounts in {esc(currency)}</h2>")
    out.append(_kpis(views, currency))

    shaped = with_fractions(projects, "effective_cost", "share", by=[])
    bars = capped([Bar(r["project"], r["effective_cost"], colors.get(r["project"], GREY), format_fraction(r["share"]))
                   for r in shaped.iter_rows(named=True)])
    out.append(f'<div class="card" id="{cid}-projects"><h3>Spend by project{esc(suffix)}</h3>'
               f'<p class="sub">Effective cost of {esc(f"{views.month:%B %Y}")} in {esc(currency)}, with the share of '
               'the month.</p>')
    out.append(bar_chart(bars, currency, f"Spend by project ({currency})", f"{cid}-chart-projects"))
    charts += any(b.value for b in bars)
    out.append(table(shaped, [Column("project", "Project"), Column("effective_cost", "Effective cost", "money"),
                              Column("billed_cost", "Billed cost", "money"),
                              Column("previous_effective_cost", "Previous month", "money"),
                              Column("change", "Change", "signed_money"),
                              Column("change_pct", "Change %", "signed_pct"),
                              Column("share", "Share", "fraction")], highlight=UNALLOCATED,
                     totals={k: column_total(shaped, k) for k in ("effective_cost", "billed_cost",
                                                                 "previous_effective_cost", "change", "share")}))
    out.append("</div>")

    months = sorted(set(trend["billing_month"].to_list()))
    panels, count = trend_panels(trend, currency, f"{cid}-chart-trend", colors)
    charts += count
    span = (f"{months[0]:%B %Y} to {months[-1]:%B %Y}" if len(months) > 1 else
            f"{months[0]:%B %Y} only; earlier months are not in the warehouse" if months else "")
    out.append(f'<div class="card" id="{cid}-trend"><h3>Trend{esc(suffix)}</h3>'
               f'<p class="sub">Effective cost per project, {esc(span)}. <strong>Each panel has its own scale</strong> '
               '(zero to that project\'s own maximum), so small projects\' changes show as clearly as large ones\'; '
               'compare sizes with the numbers, not the heights. Hover a point for its amount.</p>'
               f'{panels}{trend_table(trend)}</div>')

    movers_html, count = _movers_card(views, currency, cid, suffix)
    out.append(movers_html)
    charts += count
    out.append(_unallocated_card(views, currency, cid, suffix))

    segments = [Bar(r["coverage"], r["effective_cost"], COVERAGE_COLORS.get(r["coverage"], GREY),
                    f"{r['coverage']} {format_fraction(r['share'])}")
                for r in with_fractions(coverage, "effective_cost", "share", by=[]).iter_rows(named=True)]
    out.append(f'<div class="card" id="{cid}-coverage"><h3>Tag coverage{esc(suffix)}</h3>'
               '<p class="sub">How the project of each amount was found: the resource\'s own tag, a tag inherited '
               'from its compute, endpoint, workspace, resource group or subscription, a rule or shared split — or '
               'nothing (unallocated). Share of effective cost.</p>')
    out.append(stacked_bar(segments, f"Tag coverage ({currency})", f"{cid}-chart-coverage"))
    charts += any(as_float(s.value) > 0 for s in segments)
    out.append('<ul class="legend">' + "".join(
        f'<li><span class="swatch" style="background:{esc(s.color)}"></span>{esc(s.note)}</li>' for s in segments) + "</ul>")
    out.append(sum_table(coverage, [Column("coverage", "Project found by"), Column("methods", "Allocation methods"),
                                     Column("effective_cost", "Effective cost", "money"),
                                     Column("share", "Share", "fraction")], ["effective_cost"], "effective_cost"))
    out.append("</div>")

    out.append('<div class="grid2">')
    for key, frame, title, label, chart, what in (
            ("owner", owners, "Spend by owner", "Owner", "owners", "owners"),
            ("cost_center", centers, "Spend by cost center", "Cost center", "centers", "cost centers")):
        none_label = "(no owner)" if key == "owner" else "(no cost center)"
        bars = capped([Bar(r[key], r["effective_cost"], GREY if r[key] == none_label else "#4e79a7",
                           format_fraction(r["share"]))
                       for r in with_fractions(frame, "effective_cost", "share", by=[]).iter_rows(named=True)], what)
        out.append(f'<div class="card" id="{cid}-{chart}"><h3>{esc(title)}{esc(suffix)}</h3>')
        out.append(bar_chart(bars, currency, f"{title} ({currency})", f"{cid}-chart-{chart}", width=520))
        charts += any(b.value for b in bars)
        out.append(sum_table(frame, [Column(key, label), Column("effective_cost", "Effective cost", "money"),
                                      Column("billed_cost", "Billed cost", "money"), Column("share", "Share", "fraction")],
                              ["effective_cost", "billed_cost"], "effective_cost", highlight=none_label))
        out.append("</div>")
    out.append("</div>")
    out.append(_commitments_card(views, currency, cid, suffix))
    out.append(job_showback_card(views.jobs, currency, cid, suffix))
    out.append(budgets_card(views, currency, cid, suffix))
    anomalies_html, count = anomalies_card(views, currency, cid, suffix)
    out.append(anomalies_html)
    charts += count
    out.append(_findings_card(views, currency, cid, suffix))
    out.append("</section>")
    return "".join(out), charts


def _provenance(views: FinanceViews) -> str:
    """Where the numbers come from: export runs, snapshot, generation time and versions."""
    items = "".join(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>" for label, value in views.provenance.items())
    runs = views.provenance.runs
    rows = []
    for r in runs.iter_rows(named=True):
        submitted = f"{r['submitted_time']:%Y-%m-%d %H:%M} UTC" if r["submitted_time"] else "–"
        files = "–" if r["files"] is None else f"{r['files']:,}"
        line_items = "–" if r["line_items"] is None else f"{r['line_items']:,}"
        rows.append(f'<tr><td class="txt">{esc(r["export_name"] or "–")}</td><td class="txt">{esc(r["status"])}</td>'
                    f'<td class="txt"><code class="cmd">{esc(r["run_id"] or "–")}</code></td>'
                    f'<td class="txt">{esc(submitted)}</td>'
                    f'<td class="txt"><code class="cmd">{esc(r["manifest"] or "–")}</code></td>'
                    f'<td class="num">{esc(files)}</td><td class="num">{esc(line_items)}</td></tr>')
    table_html = ('<div class="table-wrap"><table class="data runs"><thead><tr><th scope="col" class="txt">Export</th>'
                  '<th scope="col" class="txt">Status</th><th scope="col" class="txt">Run</th>'
                  '<th scope="col" class="txt">Submitted</th><th scope="col" class="txt">Manifest / run folder</th>'
                  '<th scope="col" class="num">Files</th><th scope="col" class="num">Line items</th></tr></thead>'
                  f'<tbody>{"".join(rows)}</tbody></table></div>') if rows else \
        '<p class="empty">No export run recorded for this month.</p>'
    return (f'<section class="card provenance" id="provenance"><h3>Where these numbers come from</h3>'
            f'<dl class="facts">{items}</dl>{table_html}</section>')


def _figures(views: FinanceViews) -> dict:
    """The machine-readable copy of the headline figures embedded in the page."""
    def rows(frame: pl.DataFrame, keys: Sequence[str]) -> list[dict]:
        return [{k: (str(r[k]) if r[k] is not None else None) for k in keys} for r in frame.iter_rows(named=True)]

    return {
        "format": "aml-finops-finance-report/1",
        "month": views.label,
        "currencies": views.currencies,
        "summary": rows(views.summary, [CURRENCY, "effective_cost", "billed_cost",
                                        "unallocated_effective_cost", "unallocated_share_pct"]),
        "projects": rows(views.projects, [CURRENCY, "project", "effective_cost", "share_pct"]),
        "generated_at": views.provenance.items()[3][1],
    }


def _lede(views: FinanceViews, currencies: list[str]) -> str:
    month = esc(f"{views.month:%B %Y}")
    if not currencies:  # nothing to reconcile: never claim it
        return f"No cost this month: the exports of {month} hold no cost rows."
    return (f"Spend of {month} by project, owner and cost center, reconciled to the cost exports to the "
            "cent.")


def _trend_months(months: list) -> str:
    return f"Months covered by the trend: {esc(', '.join(f'{m:%Y-%m}' for m in months) or 'none')}."


def render_finance_html(views: FinanceViews, files: dict[str, str] | None = None) -> str:
    """The whole report page. `files` maps a link text to a path relative to the page (the pack's files)."""
    from dagster_project.reporting.review import review_section_html

    currencies = views.currencies
    multi = len(currencies) > 1
    sections, charts = [], 0
    for index, currency in enumerate(currencies):
        body, count = _currency_section(views, currency, index, multi)
        sections.append(body)
        charts += count
    figures = _figures(views)
    figures["charts"] = charts
    title = f"Azure ML spend — {views.month:%B %Y}"
    notices = []
    if multi:
        notices.append(f'<div class="notice" role="note"><strong>{len(currencies)} currencies this month: '
                       f'{esc(", ".join(currencies))}.</strong> Amounts are never added across currencies; each '
                       'currency has its own section, totals and shares.</div>')
    if not currencies:
        # Published empty only when the month's newest complete export run held no rows.
        notices.append('<div class="notice" role="note"><strong>No cost this month.</strong> The newest complete '
                       'export run of the month holds no cost rows (see the sources below).</div>')
    nav = ""
    if multi:
        nav = '<nav class="toc">' + " · ".join(
            f'<a href="#c{i}">{esc(c)}</a>' for i, c in enumerate(currencies)) + "</nav>"
    links = ""
    if files:
        links = ('<p class="files">In this pack: ' + " · ".join(
            f'<a href="{esc(path)}">{esc(text)}</a>' for text, path in files.items()) + "</p>")
    return page_template().substitute(
        charts=charts, title=esc(title), error_script=web_file("report_errors.js"), css=web_file("report.css"),
        lede=_lede(views, currencies), trend_months=_trend_months(views.months), links=links, nav=nav,
        notices="".join(notices), sections="".join(sections),
        provenance=review_section_html(views.review) + _provenance(views),
        figures=script_json(figures), page_script=web_file("report_page.js"),
    )
