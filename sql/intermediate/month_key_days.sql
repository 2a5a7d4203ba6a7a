-- The distinct kinds of cost row in one billing month, with their totals per currency and charge
-- day (staged as month_key_days; month_key_totals sums its days, month_daily_allocation splits
-- each day like its key).
-- Attribution decides once per key (resource, tags, meter, commitment), not once per row: a month
-- of tens of millions of rows has only thousands of keys. key_id numbers the keys of this month
-- only. The rows are first summed by the raw text they are keyed on (additional_info,
-- consumed_unit, meter category); the VM size is read from that JSON, the hour units recognised
-- and the meters that keep billing after a compute stops classified once per distinct text, not
-- once per row.
CREATE OR REPLACE TEMP TABLE month_key_days AS
WITH raw_key_totals AS (
    SELECT
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
        consumed_unit,
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
    FROM raw_key_totals
),

key_totals AS (
    SELECT
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
        charge_day,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost,
        coalesce(sum(consumed_quantity) FILTER (WHERE hourly AND NOT after_stop), 0) AS usage_hours,
        coalesce(sum(effective_cost) FILTER (WHERE NOT after_stop), 0) AS running_cost,
        coalesce(sum(effective_cost) FILTER (WHERE committed), 0) AS committed_cost,
        coalesce(sum(consumed_quantity) FILTER (WHERE committed AND hourly AND NOT after_stop), 0)
            AS committed_hours,
        sum(line_items) AS line_items
    FROM classified
    GROUP BY ALL
)

SELECT
    dense_rank() OVER (
        ORDER BY
            resource_id, sub_account_id, resource_group, tags, meter_vm_size, details_size_key,
            aml_resource_type, charge_description, sku_meter, after_stop, charge_category,
            commitment_discount_id, commitment_discount_name, commitment_discount_type,
            commitment_discount_status, cost_allocation_rule_name
    ) AS key_id,
    *
FROM key_totals
