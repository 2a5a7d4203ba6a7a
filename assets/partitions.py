"""The two partitionings: the billing month (first day of the month) of everything cost-shaped,
and the UTC capture day of the inventory."""

from datetime import date

from dagster import DailyPartitionsDefinition, MonthlyPartitionsDefinition

# end_offset=1 adds the current, still open month, so the daily month-to-date refresh has a
# partition to write.
billing_month_partitions = MonthlyPartitionsDefinition(start_date="2023-01-01", end_offset=1)

# One partition per UTC capture day; end_offset=1 includes today, the day a capture is recorded.
# Here, not beside the inventory asset: the CLI checks a snapshot's day before any work without
# importing azure-ai-ml (2 s), which a run whose months are all unchanged never needs.
inventory_day_partitions = DailyPartitionsDefinition(start_date="2020-01-01", end_offset=1, timezone="UTC")


def partition_month(partition_key: str) -> date:
    return date.fromisoformat(partition_key)
