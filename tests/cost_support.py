"""Helpers shared by the cost tests: where the real third-party samples are, and the totals of a
month's published line items."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

# ../shared/fixtures/external beside the repository (PROVENANCE.md there); tests that need it skip.
EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "external"


def totals_by_currency(con, month: date) -> dict[str, tuple[int, Decimal, Decimal]]:
    """Per billing currency (amounts of two currencies are never added): rows, effective, billed."""
    return {c: (n, Decimal(e), Decimal(b)) for c, n, e, b in con.execute(
        "SELECT billing_currency, count(*), sum(effective_cost), sum(billed_cost) FROM cost_line_items "
        "WHERE billing_month = ? GROUP BY 1 ORDER BY 1", [month]).fetchall()}


def totals(con, month: date) -> tuple[int, Decimal, Decimal]:
    """Rows, effective and billed cost of the month's published line items."""
    n, eff, billed = con.execute(
        "SELECT count(*), coalesce(sum(effective_cost), 0), coalesce(sum(billed_cost), 0) "
        "FROM cost_line_items WHERE billing_month = ?", [month]).fetchone()
    return n, Decimal(eff), Decimal(billed)
