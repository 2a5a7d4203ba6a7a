"""The one partitioning of everything cost-shaped: the billing month (first day of the month)."""

from datetime import date

from dagster import MonthlyPartitionsDefinition

# end_offset=1 adds the current, still open month, so the daily month-to-date refresh has a
# partition to write.
billing_month_partitions = MonthlyPartitionsDefinition(start_date="2023-01-01", end_offset=1)


def partition_month(partition_key: str) -> date:
    return date.fromisoformat(partition_key)
