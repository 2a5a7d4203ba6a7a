"""The finance report as one self-contained HTML page: inline CSS, server-side SVG charts, a small
inline script (sortable tables, a render self-check), no external resource of any kind.

Charts are drawn here, in Python, as SVG: they show in any browser, in a mail client's preview,
printed, and with scripts disabled. The script only enhances the page (click a column header to
sort) and records whether the charts laid out and whether any script error happened, as
attributes on `<html>` (`data-charts-drawn`, `data-charts-expected`, `data-script-errors`) that
the browser test reads.

* **Trend**: small multiples — one panel per project, each against its own scale (zero to its own
  maximum), so a 200-a-month project's doubling shows as clearly as the largest project's drift.
* **Labels are fitted, never clipped**: SVG text is measured with a conservative estimate of the
  font's advance widths (`text_width`) and shortened with `…` to the room it has (the full text
  stays in the element's tooltip); a stacked segment shows its share only where it fits.
* **Tables with a totals row** total the exact amounts; every figure, row or total, is shown
  rounded half up to the cent (`dagster_project.money`).

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

from dagster_project.money import format_fraction, total
from dagster_project.reporting.finance import (
    CURRENCY,
    KIND_LABELS,
    UNALLOCATED,
    FinanceViews,
    column_total,
    for_currency,
    money,
    mover_explanations,
    percent,
    with_fractions,
)

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b8860b", "#b07aa1", "#ff6f91",
           "#9c755f"]
GREY = "#8a939e"
OTHERS = "#6b7280"
UP = "#d1495b"  # spend went up
DOWN = "#2f9e6e"  # spend went down
COVERAGE_COLORS = {"own tag": "#2f9e6e", "inherited tag": "#4e79a7", "rule or shared split": "#b8860b",
                   "unallocated": GREY}
MAX_BARS = 15  # bars per chart; the rest are one "n more" bar
MAX_PANELS = 15  # trend panels; the rest are one "n other projects" panel
FONT = 12  # px, the charts' text


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


# -- text geometry ---------------------------------------------------------------------------------

_NARROW = set("il.,:;|!'`ijtfrI()[]{} /-")
_WIDE = set("mwMW@%&")
_SYMBOLS = set("<>=+~^#$*\"")


def text_width(text: str, size: float = FONT, bold: bool = False) -> float:
    """A conservative estimate of the rendered width of `text` in a sans-serif font, in px: a
    little wider than the advance widths of Arial, Helvetica and DejaVu Sans (the widest of the
    usual fallbacks), so a label that fits here fits on screen."""
    units = 0.0
    for char in text:
        if char in _NARROW:
            units += 0.4
        elif char in _WIDE:
            units += 1.0
        elif char in _SYMBOLS:
            units += 0.86
        elif char.isupper():
            units += 0.78
        elif char.isdigit():
            units += 0.66
        elif ord(char) > 0x2000:
            units += 1.0
        else:
            units += 0.66
    return units * size * (1.1 if bold else 1.0)


def fit(text: str, room: float, size: float = FONT, bold: bool = False) -> str:
    """`text`, shortened with `…` until it fits in `room` px (empty if not even `…` fits)."""
    if text_width(text, size, bold) <= room:
        return text
    for end in range(len(text) - 1, 0, -1):
        candidate = text[:end].rstrip() + "…"
        if text_width(candidate, size, bold) <= room:
            return candidate
    return "…" if text_width("…", size, bold) <= room else ""


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


def capped(bars: list[Bar], what: str = "projects", limit: int = MAX_BARS) -> list[Bar]:
    """At most `limit` bars: the rest summed into one grey "n more <what>" bar."""
    if len(bars) <= limit:
        return bars
    rest = bars[limit - 1:]
    return [*bars[: limit - 1], Bar(f"{len(rest)} more {what}", total(b.value for b in rest), OTHERS)]


def bar_chart(bars: Sequence[Bar], currency: str, title: str, chart_id: str, signed: bool = False,
              width: int = 1080) -> str:
    """Horizontal bars, lengths proportional to the values (negatives drawn left of zero). Labels
    and values are fitted to their columns."""
    if not any(b.value for b in bars):
        return '<p class="empty">No amounts this month.</p>'
    label_w, value_w, row_h, top = (220, 210, 28, 8) if width > 700 else (150, 150, 26, 6)
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
        amount = money(bar.value, signed=signed)
        value_x = max(zero_x, x_end) + 6
        room = width - value_x - 4
        shown = f"{amount}  {bar.note}" if bar.note and text_width(f"{amount}  {bar.note}") <= room else amount
        shown = fit(shown, room)
        tip = f"{bar.label}: {amount} {currency}" + (f" · {bar.note}" if bar.note else "")
        parts.append(
            f'<g class="row"><title>{esc(tip)}</title>'
            f'<text class="label" x="{label_w - 10}" y="{y + row_h / 2 + 4:.1f}" '
            f'text-anchor="end">{esc(fit(bar.label, label_w - 14))}</text>'
            f'<rect class="bar{" mark" if value else ""}" x="{x:.1f}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" rx="3" '
            f'fill="{esc(bar.color)}" data-value="{esc(bar.value)}"></rect>'
            f'<text class="value" x="{value_x:.1f}" y="{y + row_h / 2 + 4:.1f}">{esc(shown)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _series(trend: pl.DataFrame, limit: int = MAX_PANELS) -> tuple[list, dict[str, list[Decimal]]]:
    """Months, and per project (largest this month first) its effective cost per month; beyond
    `limit`, the rest as one "n other projects" series."""
    months = sorted(set(trend["billing_month"].to_list()))
    if not months:
        return [], {}
    latest = trend.filter(pl.col("billing_month") == months[-1]).sort(["effective_cost", "project"],
                                                                          descending=[True, False])
    ranked = latest["project"].to_list()
    ranked += sorted(set(trend["project"].to_list()) - set(ranked))
    lookup = {(r["project"], r["billing_month"]): r["effective_cost"] for r in trend.iter_rows(named=True)}
    shown, others = (ranked, []) if len(ranked) <= limit else (ranked[: limit - 1], ranked[limit - 1:])
    series = {p: [lookup.get((p, m), Decimal(0)) for m in months] for p in shown}
    if others:
        series[f"{len(others)} other projects"] = [total(lookup.get((p, m)) for p in others) for m in months]
    return months, series


def trend_panels(trend: pl.DataFrame, currency: str, chart_id: str, colors: dict[str, str]) -> tuple[str, int]:
    """Small multiples: one panel per project, each with its own scale (zero to its own maximum).
    Returns (html, number of charts)."""
    months, series = _series(trend)
    if not months:
        return '<p class="empty">No months available.</p>', 0
    width, height, left, right, top, bottom = 300, 118, 46, 12, 10, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    panels = []
    for index, (name, values) in enumerate(series.items()):
        floats = [_f(v) for v in values]
        ticks = _nice_ticks(min(0.0, *floats), max(0.0, *floats))
        low, high = ticks[0], ticks[-1]

        def x_of(i: int) -> float:
            return left + (plot_w / 2 if len(months) == 1 else i * plot_w / (len(months) - 1))

        def y_of(v: float, low: float = low, high: float = high) -> float:
            return top + plot_h - (v - low) / ((high - low) or 1.0) * plot_h

        color = colors.get(name, OTHERS)
        previous = values[-2] if len(values) > 1 else None
        change = ""
        if previous is not None and previous != 0:
            pct = (values[-1] - previous) * 100 / abs(previous)
            tone = "up" if pct > 0 else ("down" if pct < 0 else "")
            change = f'<span class="{tone}">{esc(percent(pct, signed=True))}</span> vs {esc(f"{months[-2]:%b}")}'
        elif previous == 0 and values[-1] != 0:
            change = "new this month"
        title = f"{name}: effective cost per month ({currency})"
        svg = [f'<svg class="chart chart-spark" id="{esc(chart_id)}-{index}" viewBox="0 0 {width} {height}" '
               f'width="100%" role="img" aria-label="{esc(title)}" preserveAspectRatio="xMinYMin meet">'
               f"<title>{esc(title)}</title>",
               f'<rect class="plot" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>']
        for tick in (low, high):
            y = y_of(tick)
            svg.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>'
                       f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                       f'{esc(fit(_compact(tick), left - 8, 11))}</text>')
        if low < 0 < high:
            y = y_of(0.0)
            svg.append(f'<line class="zero" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>')
        labels = [(0, "start" if len(months) > 1 else "middle"), (len(months) - 1, "end")] if len(months) > 1 \
            else [(0, "middle")]
        for i, anchor in labels:
            svg.append(f'<text class="tick" x="{x_of(i):.1f}" y="{height - 6}" text-anchor="{anchor}">'
                       f'{esc(f"{months[i]:%b %Y}")}</text>')
        points = [(x_of(i), y_of(v)) for i, v in enumerate(floats)]
        if len(points) > 1:
            path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
            svg.append(f'<path class="line mark" d="{path}" stroke="{esc(color)}" fill="none"/>')
        for (x, y), month, value in zip(points, months, values, strict=True):
            klass = "point" if len(points) > 1 else "point mark"
            svg.append(f'<circle class="{klass}" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{esc(color)}">'
                       f'<title>{esc(name)} · {esc(f"{month:%Y-%m}")}: {esc(money(value))} {esc(currency)}</title>'
                       "</circle>")
        svg.append("</svg>")
        klass = " muted-panel" if name == UNALLOCATED or name.endswith(" other projects") else ""
        panels.append(f'<figure class="panel{klass}" data-project="{esc(name)}">'
                      f'<figcaption><span class="panel-title" style="border-color:{esc(color)}">{esc(name)}</span>'
                      f'<span class="panel-value">{esc(money(values[-1]))} <span class="unit">{esc(currency)}</span>'
                      f'</span><span class="panel-change">{change}</span></figcaption>{"".join(svg)}</figure>')
    return f'<div class="panels">{"".join(panels)}</div>', len(panels)


def trend_table(trend: pl.DataFrame) -> str:
    """The trend's numbers: one row per project shown as a panel, one column per month, and the
    month's total."""
    months, series = _series(trend)
    if not months:
        return ""
    keys = [f"m{i}" for i in range(len(months))]
    frame = pl.DataFrame([{"project": p, **dict(zip(keys, values, strict=True))} for p, values in series.items()],
                         schema={"project": pl.String, **{k: pl.Decimal(38, 10) for k in keys}})
    return table(frame, [Column("project", "Project"),
                         *(Column(k, f"{m:%b %Y}", "money") for k, m in zip(keys, months, strict=True))],
                 highlight=UNALLOCATED, totals={k: column_total(frame, k) for k in keys})


def stacked_bar(segments: Sequence[Bar], title: str, chart_id: str) -> str:
    """One 100 % bar split into segments proportional to their (non-negative) values; a segment
    shows its share inside only where the text fits (the legend below names every segment)."""
    total_value = sum((max(_f(s.value), 0.0) for s in segments), 0.0)
    if total_value <= 0:
        return '<p class="empty">No amounts this month.</p>'
    width, height = 1080, 44
    parts = [f'<svg class="chart chart-stack" id="{esc(chart_id)}" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="{esc(title)}" preserveAspectRatio="xMinYMin meet"><title>{esc(title)}</title>']
    x = 0.0
    for segment in segments:
        w = max(_f(segment.value), 0.0) / total_value * width
        if w <= 0:
            continue
        parts.append(f'<rect class="segment mark" x="{x:.2f}" y="4" width="{w:.2f}" height="{height - 8}" '
                     f'fill="{esc(segment.color)}"><title>{esc(segment.label)}: {esc(segment.note)}</title></rect>')
        label = segment.note.rsplit(" ", 1)[-1]
        if text_width(label, FONT, bold=True) + 12 <= w:
            parts.append(f'<text class="segment-label" x="{x + w / 2:.1f}" y="{height / 2 + 4:.1f}" '
                         f'text-anchor="middle">{esc(label)}</text>')
        x += w
    parts.append("</svg>")
    return "".join(parts)


# -- tables --------------------------------------------------------------------------------------

@dataclass
class Column:
    key: str
    title: str
    kind: str = "text"  # text | code | money | signed_money | pct | signed_pct | fraction | hours | int


def _cell_text(value: object, kind: str) -> str:
    if kind in ("money", "signed_money", "hours"):  # hours to 0.01 h, the same way as money
        return money(value, signed=kind == "signed_money")
    if kind in ("pct", "signed_pct"):
        return percent(value, signed=kind == "signed_pct")
    if kind == "fraction":
        return format_fraction(value)
    return "–" if value is None else f"{value:,}"


def txt_class(value: object) -> str:
    """Text cells wrap between words; a cell with a long unbroken token (an id, an e-mail, a
    hostile value) may also break inside it, so it never widens its table past the card."""
    words = str(value or "").split()
    return "txt long" if words and max(len(w) for w in words) > 22 else "txt"


def table(frame: pl.DataFrame, columns: Sequence[Column], caption: str = "",
          highlight: str | None = None, totals: dict[str, object] | None = None,
          total_label: str = "Total") -> str:
    """A sortable table; numeric cells carry their exact value in `data-sort`. `totals` (column
    key → value) adds a totals row in `<tfoot>`, which sorting leaves at the bottom."""
    if frame.height == 0:
        return '<p class="empty">No rows.</p>'
    numeric = {c.key for c in columns if c.kind not in ("text", "code")}
    head = "".join(f'<th scope="col" class="{"num" if c.key in numeric else "txt"}" '
                   f'data-type="{"num" if c.key in numeric else "text"}" tabindex="0">{esc(c.title)}</th>'
                   for c in columns)
    rows = []
    for record in frame.iter_rows(named=True):
        cells = []
        for c in columns:
            value = record.get(c.key)
            if c.kind == "text":
                cells.append(f'<td class="{txt_class(value)}">{esc("–" if value is None else value)}</td>')
                continue
            if c.kind == "code":
                cells.append(f'<td class="txt"><code class="cmd">{esc(value)}</code></td>' if value else
                             '<td class="txt">–</td>')
                continue
            text = _cell_text(value, c.kind)
            tone = ""
            if c.kind.startswith("signed") and value is not None and value != 0:
                tone = " up" if value > 0 else " down"
            sort = "" if value is None else str(value)
            cells.append(f'<td class="num{tone}" data-sort="{esc(sort)}">{esc(text)}</td>')
        row_class = ' class="highlight"' if highlight and highlight in record.values() else ""
        rows.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    foot = ""
    if totals is not None:
        cells = []
        for index, c in enumerate(columns):
            if c.key in totals:
                cells.append(f'<td class="num">{esc(_cell_text(totals[c.key], c.kind))}</td>')
            else:
                cells.append(f'<td class="txt">{esc(total_label) if index == 0 else ""}</td>')
        foot = f'<tfoot><tr class="total">{"".join(cells)}</tr></tfoot>'
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table class="data sortable">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody>{foot}</table></div>')


def _sum_table(frame: pl.DataFrame, columns: Sequence[Column], money_keys: list[str], share_of: str | None = None,
               highlight: str | None = None) -> str:
    """A table with a totals row: the exact totals of `money_keys` (and of the integer columns);
    with `share_of`, a `share` column — each row's exact fraction of the total — and its 100 %."""
    if share_of:
        frame = with_fractions(frame, share_of, "share", by=[])
    totals: dict[str, object] = {k: column_total(frame, k) for k in money_keys}
    if share_of:
        totals["share"] = column_total(frame, "share")
    for c in columns:
        if c.kind == "int":
            totals[c.key] = int(frame[c.key].sum() or 0)
    return table(frame, columns, highlight=highlight, totals=totals)


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
                   f"{percent(change, signed=True)} ({money(delta, signed=True)}) vs previous month")
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
        ("Effective cost", f"{money(summary['effective_cost'])}", currency,
         f'<span class="{tone.strip()}">{esc(change_text)}</span>'),
        ("Billed cost", f"{money(summary['billed_cost'])}", currency, "invoice basis (purchases when billed)"),
        ("Unallocated", format_fraction(unallocated_share), "",
         f"{esc(money(summary['unallocated_effective_cost']))} {esc(currency)} with no project; "
         f"{esc(money(known))} of it has a known owner"),
        ("Tag coverage", format_fraction(tagged), "",
         f"{esc(format_fraction(own))} from the resource's own tag, the rest inherited"),
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


def _movers_card(views: FinanceViews, currency: str, cid: str, suffix: str) -> tuple[str, int]:
    movers = for_currency(views.movers, currency)
    out = [f'<div class="card" id="{cid}-movers"><h3>Top movers month over month{esc(suffix)}</h3>']
    if not movers.height:
        out.append('<p class="empty">No previous month in the warehouse to compare with.</p></div>')
        return "".join(out), 0
    explained = mover_explanations(views, currency)
    bars = [Bar(r["project"], r["change"], UP if r["change"] > 0 else DOWN,
                {"new": "new", "gone": "no spend this month"}.get(r["direction"], percent(r["change_pct"], signed=True)))
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
        pct = {"new": "new", "gone": "gone"}.get(r["direction"], percent(r["change_pct"], signed=True))
        items = []
        for line in explained.get(r["project"], []):
            kind = f' <span class="muted">{esc(line["kind"])}</span>' if line["kind"] else ""
            line_tone = "up" if line["change"] > 0 else "down"
            items.append(f'<li><span class="driver">{esc(line["resource"])}</span>{kind} '
                         f'<span class="{line_tone}">{esc(money(line["change"], signed=True))}</span></li>')
        drivers = f'<ul class="drivers">{"".join(items)}</ul>' if items else '<span class="muted">–</span>'
        rows.append(f'<tr><td class="num">{r["rank"]}</td><td class="{txt_class(r["project"])}">{esc(r["project"])}</td>'
                    f'<td class="num">{esc(money(r["previous_effective_cost"]))}</td>'
                    f'<td class="num">{esc(money(r["effective_cost"]))}</td>'
                    f'<td class="num{tone}">{esc(money(r["change"], signed=True))}<br>'
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
               f'<strong>{esc(money(known))} {esc(currency)}</strong> of it has a known owner (its owner tag or '
               f'creator) and {esc(money(likely))} {esc(currency)} a likely one (the people active in its workspace). '
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
                    f'<td class="num">{esc(money(r["effective_cost"]))}</td><td class="txt fix">{fix}</td></tr>')
    foot = (f'<tfoot><tr class="total"><td class="txt">Total</td><td></td><td></td>'
            f'<td class="num">{esc(money(total(frame["effective_cost"].to_list())))}</td><td></td></tr></tfoot>')
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
    out.append(_sum_table(frame, [Column("project", "Project"), Column("open_findings", "Open findings", "int"),
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
    charts += any(_f(s.value) > 0 for s in segments)
    out.append('<ul class="legend">' + "".join(
        f'<li><span class="swatch" style="background:{esc(s.color)}"></span>{esc(s.note)}</li>' for s in segments) + "</ul>")
    out.append(_sum_table(coverage, [Column("coverage", "Project found by"), Column("methods", "Allocation methods"),
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
        out.append(_sum_table(frame, [Column(key, label), Column("effective_cost", "Effective cost", "money"),
                                      Column("billed_cost", "Billed cost", "money"), Column("share", "Share", "fraction")],
                              ["effective_cost", "billed_cost"], "effective_cost", highlight=none_label))
        out.append("</div>")
    out.append("</div>")
    out.append(_commitments_card(views, currency, cid, suffix))
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
<p class="lede">{_lede(views, currencies)} Amounts are <strong>effective cost</strong> (amortized, the chargeback
basis) unless a column says billed cost. {_trend_months(months)}</p>
{links}
{nav}
</header>
<main>
{"".join(notices)}
{"".join(sections)}
{_provenance(views)}
</main>
<footer>
<p>Generated by aml-finops from the published tables <code>project_spend_monthly</code>, <code>cost_allocation</code>
and <code>findings</code> (see docs/tables.md). Money is kept exact (DECIMAL) and every amount, row or total, is shown
rounded half up to the cent, so a column's rounded rows can differ from its total by a cent; the chargeback CSV's lines
are rounded by largest remainder and add up exactly. Shares and changes are rounded to 0.01 %. Click a column header to
sort a table.</p>
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

    // Sortable tables: click (or Enter on) a header; numbers sort on their exact value. The
    // totals row lives in <tfoot> and stays at the bottom.
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
       font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "DejaVu Sans", sans-serif;
       font-variant-numeric: tabular-nums; }
header { margin-bottom: 18px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--accent); font-weight: 600; }
h1 { font-size: 30px; margin: 4px 0 8px; letter-spacing: -.01em; overflow-wrap: anywhere; }
h2.currency-title { font-size: 22px; margin: 28px 0 12px; border-bottom: 2px solid var(--accent); padding-bottom: 4px; }
h3 { font-size: 17px; margin: 0 0 2px; overflow-wrap: anywhere; }
.lede { color: var(--muted); max-width: 860px; margin: 0 0 8px; }
.files a, .toc a { color: var(--accent); font-weight: 600; }
.sub { color: var(--muted); margin: 0 0 10px; font-size: 13px; }
.small { font-size: 12px; }
.notice { background: #fff8e6; border: 1px solid #f3d58b; border-radius: 8px; padding: 10px 14px; margin: 0 0 16px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr)); gap: 12px; margin: 0 0 16px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px;
       border-top: 4px solid var(--accent); min-width: 0; }
.kpi.warn { border-top-color: var(--warn); }
.kpi-title { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .06em; font-weight: 600; }
.kpi-value { font-size: 24px; font-weight: 700; margin: 2px 0; overflow-wrap: anywhere; line-height: 1.25; }
.kpi-value .unit { font-size: 13px; font-weight: 600; color: var(--muted); }
.kpi-note { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px;
        margin: 0 0 16px; min-width: 0; }
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; margin: 0 0 16px; }
.grid2 .card { margin: 0; }
@media (max-width: 900px) { .grid2 { grid-template-columns: minmax(0, 1fr); } }
svg.chart { display: block; max-width: 100%; height: auto; margin: 6px 0 10px; overflow: visible; }
svg.chart text { font-size: 12px; fill: var(--ink); }
svg.chart .tick { fill: var(--muted); font-size: 11px; }
svg.chart .axis { stroke: #9aa5b1; stroke-width: 1; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .zero { stroke: #9aa5b1; stroke-width: 1; stroke-dasharray: 3 3; }
svg.chart .plot { fill: #fafbfc; }
svg.chart .line { stroke-width: 2.25; stroke-linejoin: round; stroke-linecap: round; }
svg.chart .bar:hover, svg.chart .point:hover, svg.chart .segment:hover { opacity: .8; }
svg.chart .segment-label { fill: #fff; font-weight: 600; }
.panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 12px; margin: 8px 0 14px; }
.panel { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px 2px; min-width: 0;
         display: flex; flex-direction: column; }
.panel.muted-panel { background: #f8f9fa; }
.panel figcaption { display: flex; flex-wrap: wrap; align-items: baseline; gap: 2px 10px; font-size: 13px; }
.panel-title { font-weight: 600; border-left: 4px solid; padding-left: 6px; overflow-wrap: anywhere; min-width: 0;
               flex: 1 1 100%; }
.panel-value { font-weight: 700; }
.panel-value .unit, .panel-change { color: var(--muted); font-size: 12px; font-weight: 400; }
.panel svg.chart { margin: auto 0 4px; padding-top: 2px; }
.legend { list-style: none; padding: 0; margin: 4px 0 10px; display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 13px; }
.legend .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; margin-right: 6px; vertical-align: -1px; }
.muted { color: var(--muted); }
.table-wrap { overflow-x: auto; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; }
table.data th { text-align: left; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line);
                padding: 6px 8px; cursor: pointer; user-select: none; }
table.data th.num, table.data td.num { text-align: right; }
table.data th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.data th[aria-sort="descending"]::after { content: " \\25BC"; }
table.data td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: top; }
table.data td.txt { overflow-wrap: break-word; }
table.data td.long { overflow-wrap: anywhere; }
table.data td.fix { min-width: 320px; }
table.data td.num { white-space: nowrap; }
table.data td.up, span.up { color: var(--up); }
table.data td.down, span.down { color: var(--down); }
table.data tr.highlight td { background: #f3f4f6; font-style: italic; }
table.data tfoot td { font-weight: 700; border-top: 2px solid var(--ink); border-bottom: 0; }
table.movers th { cursor: auto; }
ul.drivers { list-style: none; margin: 0; padding: 0; }
ul.drivers li { overflow-wrap: anywhere; }
code { background: #eef1f4; padding: 1px 4px; border-radius: 4px; }
code.cmd { font-size: 11.5px; white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-all; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 4px 16px; margin: 6px 0 12px; font-size: 13px; }
dl.facts dt { color: var(--muted); font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; border-top: 1px solid var(--line); padding-top: 10px; }

/* Print: A4, white, every card whole when it fits on a page, tables continue with their header. */
@page { size: A4; margin: 14mm 12mm 16mm; }
@media print {
  html { background: #fff; }
  body { max-width: none; padding: 0; font-size: 11px; }
  .card, .kpi { border-color: #bbb; break-inside: avoid; }
  .card { padding: 10px 12px; }
  .card:has(table.data tbody tr:nth-child(18)) { break-inside: auto; }
  h2, h3 { break-after: avoid; }
  .kpis { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  .kpi-value { font-size: 18px; }
  .panels { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  .panel { break-inside: avoid; }
  .grid2 { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
  .table-wrap { overflow: visible; }
  table.data { font-size: 10px; }
  table.data thead { display: table-header-group; }
  table.data tfoot { display: table-row-group; }
  table.data tr { break-inside: avoid; }
  table.data th { cursor: auto; }
  table.data th[aria-sort]::after { content: none; }
  a { color: inherit; text-decoration: none; }
  .files, .toc { display: none; }
  svg.chart .bar:hover, svg.chart .point:hover, svg.chart .segment:hover { opacity: 1; }
}
"""
