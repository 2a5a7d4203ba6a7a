"""Metadata helpers shared by the assets: what the Dagster UI shows beside each materialization."""


from decimal import Decimal

import polars as pl
from dagster import MetadataValue

from dagster_project.money import format_money


def money_text(value: Decimal | None) -> str:
    """An amount as everywhere else (`dagster_project.money`): half up to the cent, `1,234.13`."""
    return format_money(value, empty="0.00")


def markdown_preview(frame: pl.DataFrame, limit: int = 15) -> MetadataValue:
    """A small Markdown table of a frame, the way the Dagster UI renders asset metadata."""
    if frame.height == 0:
        return MetadataValue.md("_no rows_")
    head = frame.head(limit)
    columns = head.columns
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in head.iter_rows():
        cells = []
        for value in row:
            text = money_text(value) if isinstance(value, Decimal) else ("" if value is None else str(value))
            cells.append(text.replace("|", "\\|").replace("\n", " "))
        lines.append("| " + " | ".join(cells) + " |")
    if frame.height > limit:
        lines.append(f"\n_{frame.height - limit} more rows_")
    return MetadataValue.md("\n".join(lines))
