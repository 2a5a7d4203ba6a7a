-- The distinct kinds of cost row in one billing month (staged as month_keys): one row per kind
-- (raw_key, see cost_row_kinds) with the attribution key it belongs to: `attribution_key`, the
-- key's columns as one struct (attribution_keys and month_key_totals expand it), numbered by
-- key_id. Attribution decides once per key (resource, tags, meter, commitment), not once per
-- row: a month of tens of millions of rows has only ~100,000 kinds. key_id numbers the keys of
-- this month only, in the order of their columns.
-- The texts are grouped once, without the day, and the JSON classified once per distinct text:
-- the VM size read from the detail JSON, the hour units recognised, and the meters that keep
-- billing after a compute stops. A kind's days live apart, narrow (month_key_days): kept beside
-- every key-day, these texts made a ~2M-row table of ~800 MB at 10M line items.
-- texts_of_raw_key counts the distinct texts behind one hash (month_key_days fails on two).
CREATE OR REPLACE TEMP TABLE month_keys AS
WITH raw_keys AS (
    SELECT
        raw_key,
        kind
    FROM cost_row_kinds
    WHERE billing_month = $billing_month
    GROUP BY ALL
),

texts AS (
    SELECT
        raw_key,
        unnest(kind)  -- noqa: AL03
    FROM raw_keys
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
        ) AS meter_vm_size,
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
    FROM texts
),

keyed AS (
    SELECT
        raw_key,
        -- The key's columns, in the order of the contract (and of key_id).
        struct_pack(
            resource_id,
            sub_account_id,
            resource_group,
            tags,
            meter_vm_size,
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
        ) AS attribution_key,
        billing_currency,
        hourly,
        committed
    FROM classified
)

SELECT
    raw_key,
    dense_rank() OVER (ORDER BY attribution_key) AS key_id,
    attribution_key,
    billing_currency,
    hourly,
    committed,
    count(*) OVER (PARTITION BY raw_key) AS texts_of_raw_key
FROM keyed
