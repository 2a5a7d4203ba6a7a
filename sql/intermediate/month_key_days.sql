-- The distinct kinds of cost row in one billing month, with their totals per currency and charge
-- day (staged as month_key_days; month_key_totals sums its days, month_daily_allocation splits
-- each day like its key).
-- Attribution decides once per key (resource, tags, meter, commitment), not once per row: a month
-- of tens of millions of rows has only thousands of keys. key_id numbers the keys of this month
-- only.
-- The texts a row is keyed on (16 columns, JSON among them) are grouped once, without the day:
-- a month has ~100,000 distinct ones. Grouping the rows by those texts and the day at once held
-- millions of wide groups, which spilled under the run's memory limit (33-40 s at 10M rows in
-- one month). Here the texts are numbered by their hash, and the rows summed per hash and day in
-- narrow groups: two aggregates and no join of the line items (a join of the rows to their
-- texts ran out of memory at 30M rows, its build side misestimated). A hash shared by two texts
-- fails the statement rather than count rows twice. The VM size is read from the JSON, the hour
-- units recognised and the meters that keep billing after a compute stops classified once per
-- distinct text.
CREATE OR REPLACE TEMP TABLE month_key_days AS
WITH raw_keys AS (
    SELECT
        hash(
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
        ) AS raw_key,
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
    GROUP BY ALL
),

raw_key_days AS (
    SELECT
        hash(
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
        ) AS raw_key,
        CAST(coalesce(charge_period_start, $billing_month) AS DATE) AS charge_day,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost,
        sum(consumed_quantity) AS consumed_quantity,
        count(*) AS line_items
    FROM cost_line_items
    WHERE billing_month = $billing_month
    GROUP BY ALL
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
        committed,
        count(*) OVER (PARTITION BY raw_key) AS texts_of_raw_key
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
    -- Two different texts with one 64-bit hash would count their rows twice: fail the month instead.
    WHERE
        CASE
            WHEN keyed.texts_of_raw_key > 1
                THEN error('month_key_days: two kinds of cost row share one hash, so the month is not attributed')
            ELSE TRUE
        END
    GROUP BY keyed.key_id, keyed.billing_currency, raw_key_days.charge_day
),

key_columns AS (
    SELECT DISTINCT * EXCLUDE (raw_key, billing_currency, hourly, committed, texts_of_raw_key)
    FROM keyed
)

-- key_id once (USING: the one join whose star is the contract's column order), then the key's
-- columns, then its currency, day and totals.
SELECT *  -- noqa: RF02
FROM key_columns
INNER JOIN key_day_totals USING (key_id)  -- noqa: ST07
