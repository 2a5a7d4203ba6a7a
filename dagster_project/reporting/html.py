"""The finance report as one self-contained HTML page: inline CSS, server-side SVG charts, a small
inline script (sortable tables, a render self-check), no external resource of any kind.

Charts are drawn here, in Python, as SVG: they show in any browser, in a mail client's preview
and with scripts disabled. The script only enhances the page (click a column header to sort) and
records whether the charts laid out and whether any script error happened, as attributes on
`<html>` (`data-charts-drawn`, `data-charts-expected`, `data-script-errors`) that the browser test
reads.

Escaping: every value from the data passes through `esc` (`html.escape`, quotes included) before
it reaches the page — text, attributes and SVG alike; the JSON copy of the figures embedded in a
`<script type="application/json">` has `<`, `>`, `&`, U+2028 and U+2029 written as `\\uXXXX`, so a
value cannot close the script element.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from dagster_project.reporting.finance import (
    UNALLOCATED,
    FinanceViews,
    for_currency,
    money,
    percent,
)

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f"]
GREY = "#a3a9b1"
UP = "#d1495b"  # spend went up
DOWN = "#2f9e6e"  # spend went down
COVERAGE_COLORS = {"own tag": "#2f9e6e", "inherited tag": "#4e79a7", "rule or shared split": "#edc948",
                   "unallocated": GREY}
TREND_SERIES = 8  # projects drawn as their own line; the rest are one "other projects" line


def esc(value: object) -> str:
    """HTML-escape any value for text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(data: object) -> str:
    """JSON safe to embed inside a <script> element: no `</script>`, `<!--` or line separators."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    for char, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"),
                       ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return text


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _f(value: Decimal | None) -> float:
    """Geometry only: pixel positions are floats; every number printed is formatted from the Decimal."""
    return float(value) if value is not None else 0.0


def _compact(value: float) -> str:
    """Axis labels: 1234 → 1.2k, 2500000 → 2.5M."""
    magnitude = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            text = f"{value / threshold:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{value:.0f}" if magnitude >= 10 or value == 0 else f"{value:.2f}".rstrip("0").rstrip(".")


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    exponent = math.floor(math.log10(raw))
    step = min(m * 10 ** exponent for m in (1, 2, 2.5, 5, 10) if m * 10 ** exponent >= raw)
    start = math.floor(low / step) * step
    ticks, tick = [], start
    while tick < high + step * 0.999:
        ticks.append(round(tick, 10))
        tick += step
    return ticks


# -- charts --------------------------------------------------------------------------------------

@dataclass
class Bar:
    label: str
    value: Decimal
    color: str
    note: str = ""  # text printed after the value, e.g. the share


def bar_chart(bars: Sequence[Bar], currency: str, title: str, chart_id: str, signed: bool = False,
              width: int = 1080) -> str:
    """Horizontal bars, lengths proportional to the values (negatives drawn left of zero)."""
    if not bars:
        return '<p class="empty">No amounts this month.</p>'
    label_w, value_w, row_h, top = (200, 200, 28, 8) if width > 700 else (150, 150, 26, 6)
    plot_w = width - label_w - value_w
    values = [_f(b.value) for b in bars]
    low, high = min(0.0, *values), max(0.0, *values)
    span = (high - low) or 1.0
    zero_x = label_w + (0 - low) / span * plot_w
    height = top * 2 + row_h * len(bars)
    parts = [f'<svg class="chart chart-bar" id="{esc(chart_id)}" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{esc(title)}" preserveAspectRatio="xMinYMin meet">',
             f"<title>{esc(title)}</title>",
             f'<line class="axis" x1="{zero_x:.1f}" y1="{top - 4}" x2="{zero_x:.1f}" y2="{height - top + 4}"/>']
    for index, (bar, value) in enumerate(zip(bars, values, strict=True)):
        y = top + index * row_h
        x_end = label_w + (value - low) / span * plot_w
        x, w = min(zero_x, x_end), abs(x_end - zero_x)
        if value != 0:
            w = max(w, 1.5)  # a tiny amount still shows as a sliver
        amount = f"{money(bar.value, signed=signed)} {currency}"
        note = f'<tspan class="note" dx="8">{esc(bar.note)}</tspan>' if bar.note else ""
        parts.append(
            f'<g class="row"><text class="label" x="{label_w - 10}" y="{y + row_h / 2 + 4:.1f}" '
            f'text-anchor="end">{esc(_short(bar.label))}</text>'
            f'<rect class="bar mark" x="{x:.1f}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" rx="3" '
            f'fill="{esc(bar.color)}" data-value="{esc(bar.value)}"><title>{esc(bar.label)}: {esc(amount)}'
            f'{(" · " + esc(bar.note)) if bar.note else ""}</title></rect>'
            f'<text class="value" x="{max(zero_x, x_end) + 6:.1f}" y="{y + row_h / 2 + 4:.1f}">{esc(money(bar.value, signed=signed))}'
            f'{note}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(trend: pl.DataFrame, currency: str, title: str, chart_id: str,
               colors: dict[str, str]) -> tuple[str, str]:
    """Effective cost per project over the months: one line per project. Returns (svg, legend html)."""
    months = sorted(set(trend["billing_month"].to_list()))
    if not months:
        return '<p class="empty">No months available.</p>', ""
    latest = trend.filter(pl.col("billing_month") == months[-1]).sort("effective_cost", descending=True)
    ranked = latest["project"].to_list()
    ranked += sorted(set(trend["project"].to_list()) - set(ranked))
    shown = ranked[:TREND_SERIES]
    others = ranked[TREND_SERIES:]
    series: dict[str, list[Decimal]] = {}
    lookup = {(r["project"], r["billing_month"]): r["effective_cost"] for r in trend.iter_rows(named=True)}
    for project in shown:
        series[project] = [lookup.get((project, m), Decimal(0)) for m in months]
    if others:
        series[f"other projects ({len(others)})"] = [
            sum((lookup.get((p, m), Decimal(0)) for p in others), Decimal(0)) for m in months]

    width, height, left, right, top, bottom = 1080, 320, 64, 40, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    all_values = [_f(v) for values in series.values() for v in values]
    ticks = _nice_ticks(min(0.0, *all_values), max(0.0, *all_values))
    low, high = ticks[0], ticks[-1]

    def x_of(i: int) -> float:
        return left + (plot_w / 2 if len(months) == 1 else i * plot_w / (len(months) - 1))

    def y_of(v: float) -> float:
        return top + plot_h - (v - low) / ((high - low) or 1.0) * plot_h

    parts = [f'<svg class="chart chart-line" id="{esc(chart_id)}" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="{esc(title)}" preserveAspectRatio="xMinYMin meet"><title>{esc(title)}</title>']
    for tick in ticks:
        y = y_of(tick)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{esc(_compact(tick))}</text>')
    for i, month in enumerate(months):
        anchor = "middle" if 0 < i < len(months) - 1 or len(months) == 1 else ("start" if i == 0 else "end")
        parts.append(f'<text class="tick" x="{x_of(i):.1f}" y="{height - 10}" text-anchor="{anchor}">'
                     f'{esc(f"{month:%b %Y}")}</text>')
    legend = []
    for name, values in series.items():
        color = colors.get(name, GREY)
        points = [(x_of(i), y_of(_f(v))) for i, v in enumerate(values)]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
        parts.append(f'<g class="series"><path class="line mark" d="{path}" stroke="{esc(color)}" fill="none"/>')
        for (x, y), month, value in zip(points, months, values, strict=True):
            parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{esc(color)}">'
                         f'<title>{esc(name)} · {esc(f"{month:%Y-%m}")}: {esc(money(value))} {esc(currency)}</title></circle>')
        parts.append("</g>")
        legend.append(f'<li><span class="swatch" style="background:{esc(color)}"></span>{esc(name)}'
                      f' <span class="muted">{esc(money(values[-1]))}</span></li>')
    parts.append("</svg>")
    return "".join(parts), f'<ul class="legend">{"".join(legend)}</ul>'


def trend_table(trend: pl.DataFrame) -> str:
    """The trend's numbers: one row per project, one column per month, latest month's order."""
    months = sorted(set(trend["billing_month"].to_list()))
    if not months:
        return ""
    lookup = {(r["project"], r["billing_month"]): r["effective_cost"] for r in trend.iter_rows(named=True)}
    latest = trend.filter(pl.col("billing_month") == months[-1]).sort(["effective_cost", "project"],
                                                                          descending=[True, False])
    projects = latest["project"].to_list()
    projects += sorted(set(trend["project"].to_list()) - set(projects))
    keys = [f"m{i}" for i in range(len(months))]
    frame = pl.DataFrame(
        [{"project": p, **{k: lookup.get((p, m), Decimal(0)) for k, m in zip(keys, months, strict=True)}}
         for p in projects],
        schema={"project": pl.String, **{k: pl.Decimal(38, 10) for k in keys}})
    return table(frame, [Column("project", "Project"),
                         *(Column(k, f"{m:%b %Y}", "money") for k, m in zip(keys, months, strict=True))],
                 highlight=UNALLOCATED)


def stacked_bar(segments: Sequence[Bar], title: str, chart_id: str) -> str:
    """One 100 % bar split into segments proportional to their (non-negative) values."""
    total = sum((max(_f(s.value), 0.0) for s in segments), 0.0)
    if total <= 0:
        return '<p class="empty">No amounts this month.</p>'
    width, height = 1080, 44
    parts = [f'<svg class="chart chart-stack" id="{esc(chart_id)}" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="{esc(title)}" preserveAspectRatio="xMinYMin meet"><title>{esc(title)}</title>']
    x = 0.0
    for segment in segments:
        w = max(_f(segment.value), 0.0) / total * width
        if w <= 0:
            continue
        parts.append(f'<rect class="segment mark" x="{x:.2f}" y="4" width="{w:.2f}" height="{height - 8}" '
                     f'fill="{esc(segment.color)}"><title>{esc(segment.label)}: {esc(segment.note)}</title></rect>')
        if w > 60:
            parts.append(f'<text class="segment-label" x="{x + w / 2:.1f}" y="{height / 2 + 5:.1f}" '
                         f'text-anchor="middle">{esc(segment.note)}</text>')
        x += w
    parts.append("</svg>")
    return "".join(parts)


# -- tables --------------------------------------------------------------------------------------

@dataclass
class Column:
    key: str
    title: str
    kind: str = "text"  # text | money | signed_money | pct | signed_pct | int


def table(frame: pl.DataFrame, columns: Sequence[Column], caption: str = "",
          highlight: str | None = None) -> str:
    """A sortable table; numeric cells carry their exact value in `data-sort`."""
    if frame.height == 0:
        return '<p class="empty">No rows.</p>'
    head = "".join(f'<th scope="col" class="{"num" if c.kind != "text" else "txt"}" '
                   f'data-type="{"num" if c.kind != "text" else "text"}" tabindex="0">{esc(c.title)}</th>'
                   for c in columns)
    rows = []
    for record in frame.iter_rows(named=True):
        cells = []
        for c in columns:
            value = record.get(c.key)
            if c.kind == "text":
                cells.append(f"<td>{esc(value)}</td>")
                continue
            if c.kind in ("money", "signed_money"):
                text = money(value, signed=c.kind == "signed_money")
            elif c.kind in ("pct", "signed_pct"):
                text = percent(value, signed=c.kind == "signed_pct")
            else:
                text = "–" if value is None else f"{value:,}"
            tone = ""
            if c.kind.startswith("signed") and value is not None and value != 0:
                tone = " up" if value > 0 else " down"
            sort = "" if value is None else str(value)
            cells.append(f'<td class="num{tone}" data-sort="{esc(sort)}">{esc(text)}</td>')
        row_class = ' class="highlight"' if highlight and highlight in record.values() else ""
        rows.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table class="data sortable">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


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
    for name in ranked[TREND_SERIES:]:
        colors.setdefault(name, GREY)
    colors.update({f"other projects ({n})": "#6b7280" for n in range(1, len(ranked) + 1)})
    return colors


def _kpis(views: FinanceViews, currency: str) -> str:
    summary = for_currency(views.summary, currency).row(0, named=True)
    coverage = {r["coverage"]: r for r in for_currency(views.coverage, currency).iter_rows(named=True)}
    findings = for_currency(views.findings, currency)
    change = summary["change_pct"]
    delta = (summary["effective_cost"] - summary["previous_effective_cost"]
             if summary["previous_effective_cost"] is not None else None)
    change_text = ("no previous month available" if change is None and delta is None else
                   f"{percent(change, signed=True)} ({money(delta, signed=True)}) vs previous month")
    tone = "" if delta is None or delta == 0 else (" up" if delta > 0 else " down")
    unallocated_pct = summary["unallocated_share_pct"]
    warn = " warn" if unallocated_pct is not None and unallocated_pct >= 5 else ""
    tagged = sum((coverage[k]["share_pct"] or Decimal(0) for k in ("own tag", "inherited tag") if k in coverage),
                 Decimal(0))
    own = coverage.get("own tag", {}).get("share_pct")
    cards = [
        ("Effective cost", f"{money(summary['effective_cost'])}", currency,
         f'<span class="{tone.strip()}">{esc(change_text)}</span>'),
        ("Billed cost", f"{money(summary['billed_cost'])}", currency, "invoice basis (purchases when billed)"),
        ("Unallocated", percent(unallocated_pct), "",
         f"{esc(money(summary['unallocated_effective_cost']))} {esc(currency)} with no project"),
        ("Tag coverage", percent(tagged), "",
         f"{esc(percent(own))} from the resource's own tag, the rest inherited"),
    ]
    if findings.height:
        f = findings.row(0, named=True)
        cards.append(("Cleanup identified", money(f["savings"]), currency,
                      f"per month · {f['open_findings']:,} open findings on {f['resources']:,} resources"))
    html_cards = []
    for title, value, unit, note in cards:
        klass = " warn" if title == "Unallocated" and warn else ""
        html_cards.append(f'<div class="kpi{klass}"><div class="kpi-title">{esc(title)}</div>'
                          f'<div class="kpi-value">{esc(value)} <span class="unit">{esc(unit)}</span></div>'
                          f'<div class="kpi-note">{note}</div></div>')
    return f'<div class="kpis">{"".join(html_cards)}</div>'


def _currency_section(views: FinanceViews, currency: str, index: int, multi: bool) -> tuple[str, int]:
    colors = _project_colors(views, currency)
    cid = f"c{index}"
    charts = 0
    projects = for_currency(views.projects, currency)
    trend = for_currency(views.trend, currency)
    movers = for_currency(views.movers, currency)
    coverage = for_currency(views.coverage, currency)
    owners = for_currency(views.owners, currency)
    centers = for_currency(views.cost_centers, currency)
    suffix = f" — {currency}" if multi else ""
    out = [f'<section class="currency" id="{cid}" data-currency="{esc(currency)}">']
    if multi:
        out.append(f"<h2 class=\"currency-title\">Amounts in {esc(currency)}</h2>")
    out.append(_kpis(views, currency))

    bars = [Bar(r["project"], r["effective_cost"], colors.get(r["project"], GREY), percent(r["share_pct"]))
            for r in projects.iter_rows(named=True)]
    out.append(f'<div class="card" id="{cid}-projects"><h3>Spend by project{esc(suffix)}</h3>'
               f'<p class="sub">Effective cost of {esc(f"{views.month:%B %Y}")} in {esc(currency)}, with the share of the month.</p>')
    out.append(bar_chart(bars, currency, f"Spend by project ({currency})", f"{cid}-chart-projects"))
    charts += bool(bars)
    out.append(table(projects, [Column("project", "Project"), Column("effective_cost", "Effective cost", "money"),
                                Column("billed_cost", "Billed cost", "money"),
                                Column("previous_effective_cost", "Previous month", "money"),
                                Column("change", "Change", "signed_money"),
                                Column("change_pct", "Change %", "signed_pct"),
                                Column("share_pct", "Share", "pct")], highlight=UNALLOCATED))
    out.append("</div>")

    months = sorted(set(trend["billing_month"].to_list()))
    svg, legend = line_chart(trend, currency, f"Effective cost per project per month ({currency})",
                             f"{cid}-chart-trend", colors)
    charts += bool(months)
    span = (f"{months[0]:%B %Y} to {months[-1]:%B %Y}" if len(months) > 1 else
            f"{months[0]:%B %Y} only; earlier months are not in the warehouse" if months else "")
    out.append(f'<div class="card" id="{cid}-trend"><h3>Trend{esc(suffix)}</h3>'
               f'<p class="sub">Effective cost per project, {esc(span)}. Hover a point for its amount.</p>'
               f'{svg}{legend}{trend_table(trend)}</div>')

    out.append(f'<div class="card" id="{cid}-movers"><h3>Top movers month over month{esc(suffix)}</h3>')
    if movers.height:
        mover_bars = [Bar(r["project"], r["change"], UP if r["change"] > 0 else DOWN,
                          {"new": "new", "gone": "no spend this month"}.get(r["direction"], percent(r["change_pct"], signed=True)))
                      for r in movers.iter_rows(named=True)]
        out.append('<p class="sub">Change in effective cost from the month before; increases in red.</p>')
        out.append(bar_chart(mover_bars, currency, f"Top movers ({currency})", f"{cid}-chart-movers", signed=True))
        charts += 1
        out.append(table(movers, [Column("rank", "#", "int"), Column("project", "Project"),
                                  Column("direction", "Direction"),
                                  Column("previous_effective_cost", "Previous month", "money"),
                                  Column("effective_cost", "This month", "money"),
                                  Column("change", "Change", "signed_money"),
                                  Column("change_pct", "Change %", "signed_pct")]))
    else:
        out.append('<p class="empty">No previous month in the warehouse to compare with.</p>')
    out.append("</div>")

    segments = [Bar(r["coverage"], r["effective_cost"], COVERAGE_COLORS.get(r["coverage"], GREY),
                    f"{r['coverage']} {percent(r['share_pct'])}") for r in coverage.iter_rows(named=True)]
    out.append(f'<div class="card" id="{cid}-coverage"><h3>Tag coverage{esc(suffix)}</h3>'
               '<p class="sub">How the project of each amount was found: the resource\'s own tag, a tag inherited '
               'from its compute, endpoint, workspace, resource group or subscription, a rule or shared split — or '
               'nothing (unallocated). Share of effective cost.</p>')
    out.append(stacked_bar(segments, f"Tag coverage ({currency})", f"{cid}-chart-coverage"))
    charts += bool(segments)
    out.append('<ul class="legend">' + "".join(
        f'<li><span class="swatch" style="background:{esc(s.color)}"></span>{esc(s.note)}</li>' for s in segments) + "</ul>")
    out.append(table(coverage, [Column("coverage", "Project found by"), Column("methods", "Allocation methods"),
                                Column("effective_cost", "Effective cost", "money"),
                                Column("share_pct", "Share", "pct")]))
    out.append("</div>")

    out.append('<div class="grid2">')
    for key, frame, title, label, chart in (("owner", owners, "Spend by owner", "Owner", "owners"),
                                            ("cost_center", centers, "Spend by cost center", "Cost center", "centers")):
        none_label = "(no owner)" if key == "owner" else "(no cost center)"
        bars = [Bar(r[key], r["effective_cost"], GREY if r[key] == none_label else "#4e79a7", percent(r["share_pct"]))
                for r in frame.iter_rows(named=True)]
        out.append(f'<div class="card" id="{cid}-{chart}"><h3>{esc(title)}{esc(suffix)}</h3>')
        out.append(bar_chart(bars, currency, f"{title} ({currency})", f"{cid}-chart-{chart}", width=520))
        charts += bool(bars)
        out.append(table(frame, [Column(key, label), Column("effective_cost", "Effective cost", "money"),
                                 Column("billed_cost", "Billed cost", "money"), Column("share_pct", "Share", "pct")],
                         highlight=none_label))
        out.append("</div>")
    out.append("</div></section>")
    return "".join(out), charts


def _figures(views: FinanceViews) -> dict:
    """The machine-readable copy of the headline figures embedded in the page."""
    def rows(frame: pl.DataFrame, keys: Sequence[str]) -> list[dict]:
        return [{k: (str(r[k]) if r[k] is not None else None) for k in keys} for r in frame.iter_rows(named=True)]

    return {
        "format": "aml-finops-finance-report/1",
        "month": views.label,
        "currencies": views.currencies,
        "summary": rows(views.summary, ["billing_currency", "effective_cost", "billed_cost",
                                        "unallocated_effective_cost", "unallocated_share_pct"]),
        "projects": rows(views.projects, ["billing_currency", "project", "effective_cost", "share_pct"]),
    }


def render_finance_html(views: FinanceViews, files: dict[str, str] | None = None) -> str:
    """The whole report page. `files` maps a link text to a path relative to the page (the pack's files)."""
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
        notices.append('<div class="notice" role="note">No cost was allocated in this month.</div>')
    nav = ""
    if multi:
        nav = '<nav class="toc">' + " · ".join(
            f'<a href="#c{i}">{esc(c)}</a>' for i, c in enumerate(currencies)) + "</nav>"
    links = ""
    if files:
        links = ('<p class="files">In this pack: ' + " · ".join(
            f'<a href="{esc(path)}">{esc(text)}</a>' for text, path in files.items()) + "</p>")
    months = views.months
    return f"""<!DOCTYPE html>
<html lang="en" data-script-errors="" data-charts-drawn="" data-charts-expected="{charts}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="aml-finops">
<title>{esc(title)}</title>
<script>{_ERROR_SCRIPT}</script>
<style>{_CSS}</style>
</head>
<body>
<header>
<div class="eyebrow">FinOps report · Azure Machine Learning</div>
<h1>{esc(title)}</h1>
<p class="lede">Spend of {esc(f"{views.month:%B %Y}")} by project, owner and cost center, reconciled to the cost
exports to the cent. Amounts are <strong>effective cost</strong> (amortized, the chargeback basis) unless a column
says billed cost. Months covered by the trend: {esc(", ".join(f"{m:%Y-%m}" for m in months) or "none")}.</p>
{links}
{nav}
</header>
<main>
{"".join(notices)}
{"".join(sections)}
</main>
<footer>
<p>Generated by aml-finops from the published tables <code>project_spend_monthly</code> and
<code>cost_allocation</code> (see docs/tables.md). Money is kept exact (DECIMAL) and shown rounded half up to the cent;
shares and changes are rounded to 0.01 %. Click a column header to sort a table.</p>
</footer>
<script type="application/json" id="report-data">{script_json(figures)}</script>
<script>{_PAGE_SCRIPT}</script>
</body>
</html>
"""


_ERROR_SCRIPT = """
(function () {
  var root = document.documentElement;
  function record(message) {
    var previous = root.getAttribute('data-script-errors') || '';
    root.setAttribute('data-script-errors', previous + (previous ? ' | ' : '') + message);
  }
  window.__recordError = record;
  window.addEventListener('error', function (event) { record(String(event.message || 'error')); });
  window.addEventListener('unhandledrejection', function (event) { record('unhandled rejection: ' + String(event.reason)); });
})();
"""

_PAGE_SCRIPT = """
(function () {
  'use strict';
  var root = document.documentElement;
  try {
    var figures = JSON.parse(document.getElementById('report-data').textContent);
    root.setAttribute('data-report-month', figures.month);

    // Sortable tables: click (or Enter on) a header; numbers sort on their exact value.
    Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (tableEl) {
      var headers = tableEl.querySelectorAll('thead th');
      Array.prototype.forEach.call(headers, function (th, column) {
        function sort() {
          var numeric = th.getAttribute('data-type') === 'num';
          var descending = th.getAttribute('aria-sort') !== 'descending';
          Array.prototype.forEach.call(headers, function (h) { h.removeAttribute('aria-sort'); });
          th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
          var body = tableEl.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows);
          rows.sort(function (a, b) {
            var x = a.cells[column], y = b.cells[column];
            var p = numeric ? x.getAttribute('data-sort') : x.textContent;
            var q = numeric ? y.getAttribute('data-sort') : y.textContent;
            var result;
            if (numeric) {
              var u = p === '' ? -Infinity : parseFloat(p), v = q === '' ? -Infinity : parseFloat(q);
              result = u < v ? -1 : (u > v ? 1 : 0);
            } else {
              result = p.localeCompare(q);
            }
            return descending ? -result : result;
          });
          rows.forEach(function (row) { body.appendChild(row); });
        }
        th.addEventListener('click', sort);
        th.addEventListener('keydown', function (event) { if (event.key === 'Enter') { sort(); } });
      });
    });

    // Self-check: a chart counts as drawn when it is laid out and its marks have a visible size.
    var drawn = 0;
    Array.prototype.forEach.call(document.querySelectorAll('svg.chart'), function (svg) {
      var box = svg.getBoundingClientRect();
      var marks = svg.querySelectorAll('.mark');
      var visible = 0;
      Array.prototype.forEach.call(marks, function (mark) {
        var b = mark.getBBox();
        // A bar needs both sides; a line may be flat (no height) but never a point.
        var shown = mark.tagName.toLowerCase() === 'rect' ? (b.width > 0 && b.height > 0) : (b.width > 0 || b.height > 0);
        if (shown) { visible += 1; }
      });
      if (box.width > 0 && box.height > 0 && marks.length > 0 && visible === marks.length) {
        drawn += 1;
        svg.setAttribute('data-drawn', 'yes');
      } else {
        svg.setAttribute('data-drawn', 'no');
      }
    });
    root.setAttribute('data-charts-drawn', String(drawn));
    if (drawn !== figures.charts) {
      window.__recordError('charts drawn ' + drawn + ' of ' + figures.charts);
    }
  } catch (error) {
    window.__recordError(String(error && error.message ? error.message : error));
  }
})();
"""

_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f5f7fa; --card: #ffffff;
        --accent: #4e79a7; --up: #d1495b; --down: #2f9e6e; --warn: #b7791f; }
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0 auto; max-width: 1180px; padding: 28px 32px 48px; color: var(--ink);
       font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
       font-variant-numeric: tabular-nums; }
header { margin-bottom: 18px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--accent); font-weight: 600; }
h1 { font-size: 30px; margin: 4px 0 8px; letter-spacing: -.01em; }
h2.currency-title { font-size: 22px; margin: 28px 0 12px; border-bottom: 2px solid var(--accent); padding-bottom: 4px; }
h3 { font-size: 17px; margin: 0 0 2px; }
.lede { color: var(--muted); max-width: 860px; margin: 0 0 8px; }
.files a, .toc a { color: var(--accent); font-weight: 600; }
.sub { color: var(--muted); margin: 0 0 10px; font-size: 13px; }
.notice { background: #fff8e6; border: 1px solid #f3d58b; border-radius: 8px; padding: 10px 14px; margin: 0 0 16px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; margin: 0 0 16px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px;
       border-top: 4px solid var(--accent); }
.kpi.warn { border-top-color: var(--warn); }
.kpi-title { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .06em; font-weight: 600; }
.kpi-value { font-size: 26px; font-weight: 700; margin: 2px 0; white-space: nowrap; }
.kpi-value .unit { font-size: 13px; font-weight: 600; color: var(--muted); }
.kpi-note { font-size: 12px; color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px;
        margin: 0 0 16px; break-inside: avoid; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.grid2 .card { margin: 0; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
svg.chart { display: block; max-width: 100%; height: auto; margin: 6px 0 10px; overflow: visible; }
svg.chart text { font-size: 12px; fill: var(--ink); }
svg.chart .tick { fill: var(--muted); font-size: 11px; }
svg.chart .note { fill: var(--muted); }
svg.chart .axis { stroke: #9aa5b1; stroke-width: 1; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .line { stroke-width: 2.5; stroke-linejoin: round; stroke-linecap: round; }
svg.chart .bar:hover, svg.chart .point:hover, svg.chart .segment:hover { opacity: .8; }
svg.chart .segment-label { fill: #fff; font-weight: 600; }
.legend { list-style: none; padding: 0; margin: 4px 0 10px; display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 13px; }
.legend .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; margin-right: 6px; vertical-align: -1px; }
.muted { color: var(--muted); }
.table-wrap { overflow-x: auto; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; }
table.data th { text-align: left; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line);
                padding: 6px 8px; cursor: pointer; user-select: none; white-space: nowrap; }
table.data th.num, table.data td.num { text-align: right; }
table.data th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.data th[aria-sort="descending"]::after { content: " \\25BC"; }
table.data td { border-bottom: 1px solid var(--line); padding: 6px 8px; }
table.data td.num { white-space: nowrap; }
table.data td.up { color: var(--up); }
table.data td.down { color: var(--down); }
table.data tr.highlight td { background: #f3f4f6; font-style: italic; }
span.up { color: var(--up); } span.down { color: var(--down); }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; border-top: 1px solid var(--line); padding-top: 10px; }
code { background: #eef1f4; padding: 1px 4px; border-radius: 4px; }
@media print { html { background: #fff; } body { padding: 0; } .card, .kpi { border-color: #ccc; }
               table.data th { cursor: auto; } }
"""
