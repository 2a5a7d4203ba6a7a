-- The distinct kinds of cost row in one billing month, with their totals per currency and charge
-- day (staged as month_key_days; month_key_totals sums its days, month_daily_allocation splits
-- each day like its key).
-- Attribution decides once per key (resource, tags, meter, commitment), not once per row: a month
-- of tens of millions of rows has only thousands of keys. key_id numbers the keys of this month
-- only.
-- The texts a row is keyed on (16 columns, JSON among them) are grouped once, without the day:
-- a month has ~100,000 distinct ones. Grouping the rows by those texts and the day at once held
-- millions of wide groups, which spilled under the run's memory limit (33-40 s at 10M rows in
-- one month; this chain: 8 s). The rows are then summed per number of their texts and day
-- (narrow groups); the VM size is read from the JSON, the hour units recognised and the meters
-- that keep billing after a compute stops classified once per distinct text.
CREATE OR REPLACE TEMP TABLE month_key_days AS
WITH raw_texts AS (
    SELECT DISTINCT
        resource_id,
        sub_account_id,
        resource_group,
        tags,
        additional_info,
        charge_description,
        meter_category,
        sku_meter,
        charge_category,
        commitment_discount_id,
        commitment_discount_name,
        commitment_discount_type,
        commitment_discount_status,
        cost_allocation_rule_name,
        billing_currency,
        consumed_unit
    FROM cost_line_items
    WHERE billing_month = $billing_month
),

-- MATERIALIZED: raw_key is a row number in no particular order, so both readers of raw_keys must
-- read one evaluation of it.
raw_keys AS MATERIALIZED (
    SELECT
        row_number() OVER () AS raw_key,
        *
    FROM raw_texts
),

raw_key_days AS (
    SELECT
        raw_keys.raw_key,
        CAST(coalesce(line_items.charge_period_start, $billing_month) AS DATE) AS charge_day,
        sum(line_items.effective_cost) AS effective_cost,
        sum(line_items.billed_cost) AS billed_cost,
        sum(line_items.consumed_quantity) AS consumed_quantity,
        count(*) AS line_items
    FROM cost_line_items AS line_items
    INNER JOIN raw_keys
        ON line_items.resource_id IS NOT DISTINCT FROM raw_keys.resource_id
            AND line_items.sub_account_id IS NOT DISTINCT FROM raw_keys.sub_account_id
            AND line_items.resource_group IS NOT DISTINCT FROM raw_keys.resource_group
            AND line_items.tags IS NOT DISTINCT FROM raw_keys.tags
            AND line_items.additional_info IS NOT DISTINCT FROM raw_keys.additional_info
            AND line_items.charge_description IS NOT DISTINCT FROM raw_keys.charge_description
            AND line_items.meter_category IS NOT DISTINCT FROM raw_keys.meter_category
            AND line_items.sku_meter IS NOT DISTINCT FROM raw_keys.sku_meter
            AND line_items.charge_category IS NOT DISTINCT FROM raw_keys.charge_category
            AND line_items.commitment_discount_id IS NOT DISTINCT FROM raw_keys.commitment_discount_id
            AND line_items.commitment_discount_name IS NOT DISTINCT FROM raw_keys.commitment_discount_name
            AND line_items.commitment_discount_type IS NOT DISTINCT FROM raw_keys.commitment_discount_type
            AND line_items.commitment_discount_status IS NOT DISTINCT FROM raw_keys.commitment_discount_status
            AND line_items.cost_allocation_rule_name IS NOT DISTINCT FROM raw_keys.cost_allocation_rule_name
            AND line_items.billing_currency IS NOT DISTINCT FROM raw_keys.billing_currency
            AND line_items.consumed_unit IS NOT DISTINCT FROM raw_keys.consumed_unit
    WHERE line_items.billing_month = $billing_month
    GROUP BY raw_keys.raw_key, charge_day
),

classified AS (
    SELECT
        *,
        -- The VM size as AdditionalInfo (EA), x_SkuDetails (FOCUS 1.0) or SkuPriceDetails (1.2)
        -- carry it; the resolver checks that the value is a VM size at all.
        CASE
            WHEN json_extract_string(additional_info, '$.ServiceType') IS NOT NULL THEN 'ServiceType'
            WHEN json_extract_string(additional_info, '$.x_ServiceType') IS NOT NULL THEN 'x_ServiceType'
            WHEN json_extract_string(additional_info, '$.InstanceType') IS NOT NULL THEN 'InstanceType'
            WHEN json_extract_string(additional_info, '$.x_InstanceType') IS NOT NULL THEN 'x_InstanceType'
            WHEN json_extract_string(additional_info, '$.VMSize') IS NOT NULL THEN 'VMSize'
        END AS details_size_key,
        coalesce(
            json_extract_string(additional_info, '$.ServiceType'),
            json_extract_string(additional_info, '$.x_ServiceType'),
            json_extract_string(additional_info, '$.InstanceType'),
            json_extract_string(additional_info, '$.x_InstanceType'),
            json_extract_string(additional_info, '$.VMSize')
        ) AS details_vm_size,
        json_extract_string(additional_info, '$.AMLResourceType') AS aml_resource_type,
        -- What keeps billing after a compute stops: its disks, its load balancer, its static
        -- public IP. Neither running hours nor a stop's savings.
        coalesce(
            concat_ws(' ', meter_category, charge_description, sku_meter) ILIKE '%disk%'
            OR concat_ws(' ', meter_category, charge_description, sku_meter) ILIKE '%load balancer%'
            OR concat_ws(' ', meter_category, charge_description, sku_meter) ILIKE '%ip address%'
            OR concat_ws(' ', meter_category, charge_description, sku_meter) ILIKE '%public ip%',
            FALSE
        ) AS after_stop,
        coalesce(consumed_unit ILIKE '%hour%', FALSE) AS hourly,
        coalesce(lower(commitment_discount_status) = 'used', FALSE) AS committed
    FROM raw_keys
),

keyed AS MATERIALIZED (
    SELECT
        raw_key,
        dense_rank() OVER (
            ORDER BY
                resource_id,
                sub_account_id,
                resource_group,
                tags,
                details_vm_size,
                details_size_key,
                aml_resource_type,
                charge_description,
                sku_meter,
                after_stop,
                charge_category,
                commitment_discount_id,
                commitment_discount_name,
                commitment_discount_type,
                commitment_discount_status,
                cost_allocation_rule_name
        ) AS key_id,
        resource_id,
        sub_account_id,
        resource_group,
        tags,
        details_vm_size AS meter_vm_size,
        details_size_key,
        aml_resource_type,
        charge_description,
        sku_meter,
        after_stop,
        charge_category,
        commitment_discount_id,
        commitment_discount_name,
        commitment_discount_type,
        commitment_discount_status,
        cost_allocation_rule_name,
        billing_currency,
        hourly,
        committed
    FROM classified
),

key_day_totals AS (
    SELECT
        keyed.key_id,
        keyed.billing_currency,
        raw_key_days.charge_day,
        sum(raw_key_days.effective_cost) AS effective_cost,
        sum(raw_key_days.billed_cost) AS billed_cost,
        coalesce(sum(raw_key_days.consumed_quantity) FILTER (WHERE keyed.hourly AND NOT keyed.after_stop), 0)
            AS usage_hours,
        coalesce(sum(raw_key_days.effective_cost) FILTER (WHERE NOT keyed.after_stop), 0) AS running_cost,
        coalesce(sum(raw_key_days.effective_cost) FILTER (WHERE keyed.committed), 0) AS committed_cost,
        coalesce(
            sum(raw_key_days.consumed_quantity) FILTER (
                WHERE keyed.committed AND keyed.hourly AND NOT keyed.after_stop
            ),
            0
        ) AS committed_hours,
        sum(raw_key_days.line_items) AS line_items
    FROM raw_key_days
    INNER JOIN keyed ON raw_key_days.raw_key = keyed.raw_key
    GROUP BY keyed.key_id, keyed.billing_currency, raw_key_days.charge_day
),

key_columns AS (
    SELECT DISTINCT * EXCLUDE (raw_key, billing_currency, hourly, committed)
    FROM keyed
)

-- key_id once (USING: the one join whose star is the contract's column order), then the key's
-- columns, then its currency, day and totals.
SELECT *  -- noqa: RF02
FROM key_columns
INNER JOIN key_day_totals USING (key_id)  -- noqa: ST07
