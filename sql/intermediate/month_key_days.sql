-- Every attribution key's totals per currency and charge day in one billing month (staged as
-- month_key_days, narrow: the key's columns are in month_keys). month_key_totals sums its days;
-- month_daily_allocation splits each day like its key.
-- The rows are summed per kind (raw_key, cost_row_kinds) and day first, in narrow groups, then
-- per key: grouping the rows by their 16 texts and the day at once held millions of wide groups
-- that spilled under the run's memory limit, and a join of the rows to their numbered texts ran
-- out of memory at 30M rows (its build side misestimated). A hash shared by two texts fails the
-- statement rather than count rows twice.
CREATE OR REPLACE TEMP TABLE month_key_days AS
WITH raw_key_days AS (
    SELECT
        raw_key,
        CAST(coalesce(charge_period_start, $billing_month) AS DATE) AS charge_day,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost,
        sum(consumed_quantity) AS consumed_quantity,
        count(*) AS line_items
    FROM cost_row_kinds
    WHERE billing_month = $billing_month
    GROUP BY ALL
)

SELECT
    month_keys.key_id,
    month_keys.billing_currency,
    raw_key_days.charge_day,
    sum(raw_key_days.effective_cost) AS effective_cost,
    sum(raw_key_days.billed_cost) AS billed_cost,
    coalesce(
        sum(raw_key_days.consumed_quantity) FILTER (
            WHERE month_keys.hourly AND NOT month_keys.attribution_key.after_stop
        ),
        0
    ) AS usage_hours,
    coalesce(
        sum(raw_key_days.effective_cost) FILTER (WHERE NOT month_keys.attribution_key.after_stop), 0
    ) AS running_cost,
    coalesce(sum(raw_key_days.effective_cost) FILTER (WHERE month_keys.committed), 0) AS committed_cost,
    coalesce(
        sum(raw_key_days.consumed_quantity) FILTER (
            WHERE month_keys.committed AND month_keys.hourly AND NOT month_keys.attribution_key.after_stop
        ),
        0
    ) AS committed_hours,
    sum(raw_key_days.line_items) AS line_items
FROM raw_key_days
INNER JOIN month_keys ON raw_key_days.raw_key = month_keys.raw_key
-- Two different texts with one 64-bit hash would count their rows twice: fail the month instead.
WHERE
    CASE
        WHEN month_keys.texts_of_raw_key > 1
            THEN error('month_key_days: two kinds of cost row share one hash, so the month is not attributed')
        ELSE TRUE
    END
GROUP BY month_keys.key_id, month_keys.billing_currency, raw_key_days.charge_day
