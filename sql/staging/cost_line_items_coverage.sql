-- What each file of staged billing month $billing_month covers: rows per sub account and charge day.
-- Two files of different export definitions covering the same (sub account, day) deliver the
-- same spend twice (see dagster_project/costs/overlap.py). A row without a sub account counts
-- as its own scope ('').
SELECT
    source_file,
    coalesce(sub_account_id, '') AS sub_account_id,
    CAST(charge_period_start AS DATE) AS charge_day,
    count(*) AS line_items
FROM staging.cost_line_items
WHERE billing_month = $billing_month
GROUP BY ALL
