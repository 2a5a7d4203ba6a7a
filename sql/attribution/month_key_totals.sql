-- The distinct kinds of cost row in one billing month, with their totals per currency.
-- Attribution decides once per key (resource, tags, meter), not once per row: a month of tens
-- of millions of rows has only thousands of keys. key_id numbers the keys of this month only.
-- The rows are first summed by the raw text they are keyed on (additional_info, consumed_unit);
-- the VM size is read from that JSON and the hour units are recognised once per distinct text,
-- not once per row.
CREATE OR REPLACE TEMP TABLE month_key_totals AS
WITH raw_key_totals AS (
    SELECT
        resource_id,
        sub_account_id,
        resource_group,
        tags,
        additional_info,
        charge_description,
        billing_currency,
        consumed_unit,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost,
        sum(consumed_quantity) AS consumed_quantity,
        count(*) AS line_items
    FROM cost_line_items
    WHERE billing_month = $billing_month
    GROUP BY ALL
),

key_totals AS (
    SELECT
        resource_id,
        sub_account_id,
        resource_group,
        tags,
        json_extract_string(additional_info, '$.ServiceType') AS meter_vm_size,
        charge_description,
        billing_currency,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost,
        coalesce(sum(consumed_quantity) FILTER (WHERE consumed_unit ILIKE '%hour%'), 0) AS usage_hours,
        sum(line_items) AS line_items
    FROM raw_key_totals
    GROUP BY ALL
)

SELECT
    dense_rank() OVER (
        ORDER BY resource_id, sub_account_id, resource_group, tags, meter_vm_size, charge_description
    ) AS key_id,
    *
FROM key_totals
