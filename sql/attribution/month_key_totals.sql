-- The distinct kinds of cost row in one billing month, with their totals per currency.
-- Attribution decides once per key (resource, tags, meter), not once per row: a month of tens
-- of millions of rows has only thousands of keys. key_id numbers the keys of this month only.
CREATE OR REPLACE TEMP TABLE month_key_totals AS
WITH month_items AS (
    SELECT
        resource_id,
        sub_account_id,
        resource_group,
        tags,
        json_extract_string(additional_info, '$.ServiceType') AS meter_vm_size,
        charge_description,
        billing_currency,
        effective_cost,
        billed_cost,
        CASE WHEN consumed_unit ILIKE '%hour%' THEN consumed_quantity ELSE 0 END AS usage_hours
    FROM cost_line_items
    WHERE billing_month = $billing_month
),

key_totals AS (
    SELECT
        resource_id,
        sub_account_id,
        resource_group,
        tags,
        meter_vm_size,
        charge_description,
        billing_currency,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost,
        sum(usage_hours) AS usage_hours,
        count(*) AS line_items
    FROM month_items
    GROUP BY ALL
)

SELECT
    dense_rank() OVER (
        ORDER BY resource_id, sub_account_id, resource_group, tags, meter_vm_size, charge_description
    ) AS key_id,
    *
FROM key_totals
