-- The distinct kinds of cost row in one billing month, with their totals per currency: the days of
-- month_key_days summed. Attribution decides once per key (resource, tags, meter, commitment),
-- not once per row: a month of tens of millions of rows has only thousands of keys. key_id
-- numbers the keys of this month only.
CREATE OR REPLACE TEMP TABLE month_key_totals AS
SELECT
    * EXCLUDE (
        charge_day, effective_cost, billed_cost, usage_hours, running_cost, committed_cost, committed_hours,
        line_items
    ),
    sum(effective_cost) AS effective_cost,
    sum(billed_cost) AS billed_cost,
    sum(usage_hours) AS usage_hours,
    sum(running_cost) AS running_cost,
    sum(committed_cost) AS committed_cost,
    sum(committed_hours) AS committed_hours,
    sum(line_items) AS line_items
FROM month_key_days
GROUP BY ALL
