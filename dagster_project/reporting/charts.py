"""The report's chart kit: server-side SVG bar charts, trend small multiples and a stacked bar,
with text measured and fitted to its room (never clipped), and the escaping every value passes.

Charts are drawn in Python, as SVG: they show in any browser, in a mail client's preview,
printed, and with scripts disabled.

* **Trend**: small multiples — one panel per project, each against its own scale (zero to its own
  maximum), so a 200-a-month project's doubling shows as clearly as the largest project's drift.
* **Labels are fitted, never clipped**: SVG text is measured with a conservative estimate of the
  font's advance widths (`text_width`) and shortened with `…` to the room it has (the full text
  stays in the element's tooltip); a stacked segment shows its share only where it fits.

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

from dagster_project.money import format_money, format_percent, total
from dagster_project.reporting.finance import (
    UNALLOCATED,
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


def as_float(value: Decimal | None) -> float:
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
    values = [as_float(b.value) for b in bars]
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
        amount = format_money(bar.value, signed=signed)
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


def trend_series(trend: pl.DataFrame, limit: int = MAX_PANELS) -> tuple[list, dict[str, list[Decimal]]]:
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
    months, series = trend_series(trend)
    if not months:
        return '<p class="empty">No months available.</p>', 0
    width, height, left, right, top, bottom = 300, 118, 46, 12, 10, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    panels = []
    for index, (name, values) in enumerate(series.items()):
        floats = [as_float(v) for v in values]
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
            change = f'<span class="{tone}">{esc(format_percent(pct, signed=True))}</span> vs {esc(f"{months[-2]:%b}")}'
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
                       f'<title>{esc(name)} · {esc(f"{month:%Y-%m}")}: {esc(format_money(value))} {esc(currency)}</title>'
                       "</circle>")
        svg.append("</svg>")
        klass = " muted-panel" if name == UNALLOCATED or name.endswith(" other projects") else ""
        panels.append(f'<figure class="panel{klass}" data-project="{esc(name)}">'
                      f'<figcaption><span class="panel-title" style="border-color:{esc(color)}">{esc(name)}</span>'
                      f'<span class="panel-value">{esc(format_money(values[-1]))} <span class="unit">{esc(currency)}</span>'
                      f'</span><span class="panel-change">{change}</span></figcaption>{"".join(svg)}</figure>')
    return f'<div class="panels">{"".join(panels)}</div>', len(panels)


def stacked_bar(segments: Sequence[Bar], title: str, chart_id: str) -> str:
    """One 100 % bar split into segments proportional to their (non-negative) values; a segment
    shows its share inside only where the text fits (the legend below names every segment)."""
    total_value = sum((max(as_float(s.value), 0.0) for s in segments), 0.0)
    if total_value <= 0:
        return '<p class="empty">No amounts this month.</p>'
    width, height = 1080, 44
    parts = [f'<svg class="chart chart-stack" id="{esc(chart_id)}" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-label="{esc(title)}" preserveAspectRatio="xMinYMin meet"><title>{esc(title)}</title>']
    x = 0.0
    for segment in segments:
        w = max(as_float(segment.value), 0.0) / total_value * width
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
