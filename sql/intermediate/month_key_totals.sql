-- The attribution keys of one billing month with their totals per currency (staged as
-- month_key_totals): the days of month_key_days summed, beside the key's columns (month_keys).
-- Attribution decides once per key (resource, tags, meter, commitment), not once per row.
CREATE OR REPLACE TEMP TABLE month_key_totals AS
WITH totals AS (
    SELECT
        key_id,
        billing_currency,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost,
        sum(usage_hours) AS usage_hours,
        sum(running_cost) AS running_cost,
        sum(committed_cost) AS committed_cost,
        sum(committed_hours) AS committed_hours,
        sum(line_items) AS line_items
    FROM month_key_days
    GROUP BY key_id, billing_currency
),

-- One row per key: its kinds differ only in what the key does not keep (currency, unit, the
-- detail JSON beyond the VM size).
key_columns AS (
    SELECT DISTINCT
        key_id,
        unnest(attribution_key)  -- noqa: AL03
    FROM month_keys
)

-- key_id once (USING: the one join whose star is the contract's column order), then the key's
-- columns, then its currency and totals.
SELECT *  -- noqa: RF02
FROM key_columns
INNER JOIN totals USING (key_id)  -- noqa: ST07
