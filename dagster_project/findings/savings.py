"""Savings totals: per currency, each resource once with its largest estimate.

A finding's savings are in the currency of the cost they come from (`findings.currency`); a total
never adds two currencies. Several rules can flag one resource (an instance left running and
without idle shutdown); their savings overlap, so a resource counts once, with its largest
estimate.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl


def savings_per_currency(findings: pl.DataFrame) -> dict[str, Decimal]:
    """Open findings of a frame: currency → estimated monthly savings."""
    open_findings = findings.filter(pl.col("status") == "open")
    if open_findings.height == 0:
        return {}
    per_resource = open_findings.group_by("currency", "resource_id").agg(pl.col("savings").max())
    return {r["currency"]: r["savings"] for r in per_resource.group_by("currency").agg(
        pl.col("savings").sum()).sort("currency").iter_rows(named=True)}

