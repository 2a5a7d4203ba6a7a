"""The report's tables: sortable, numeric cells carrying their exact value in `data-sort`, a
totals row that totals the exact amounts; every figure, row or total, is shown rounded half up to
the cent (`dagster_project.money`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from dagster_project.money import format_fraction, format_money, format_percent
from dagster_project.reporting.charts import esc, trend_series
from dagster_project.reporting.finance import (
    UNALLOCATED,
    column_total,
    with_fractions,
)


@dataclass
class Column:
    key: str
    title: str
    kind: str = "text"  # text | code | money | signed_money | pct | signed_pct | fraction | hours | int


def _cell_text(value: object, kind: str) -> str:
    if kind in ("money", "signed_money", "hours"):  # hours to 0.01 h, the same way as money
        return format_money(value, signed=kind == "signed_money")
    if kind in ("pct", "signed_pct"):
        return format_percent(value, signed=kind == "signed_pct")
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


def sum_table(frame: pl.DataFrame, columns: Sequence[Column], money_keys: list[str], share_of: str | None = None,
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


def trend_table(trend: pl.DataFrame) -> str:
    """The trend's numbers: one row per project shown as a panel, one column per month, and the
    month's total."""
    months, series = trend_series(trend)
    if not months:
        return ""
    keys = [f"m{i}" for i in range(len(months))]
    frame = pl.DataFrame([{"project": p, **dict(zip(keys, values, strict=True))} for p, values in series.items()],
                         schema={"project": pl.String, **{k: pl.Decimal(38, 10) for k in keys}})
    return table(frame, [Column("project", "Project"),
                         *(Column(k, f"{m:%b %Y}", "money") for k, m in zip(keys, months, strict=True))],
                 highlight=UNALLOCATED, totals={k: column_total(frame, k) for k in keys})
