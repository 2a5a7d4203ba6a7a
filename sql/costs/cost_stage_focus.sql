-- Stage one group of FOCUS files (any version) for billing month $month: every data row, typed,
-- with the reason it cannot be published (NULL when it can). Only the columns named here are
-- parsed; the raw text of rejected rows is fetched afterwards (cost_reject_raw).
-- Parsed columns carry a p_ prefix so they never collide with source names (DuckDB binds a bare
-- name to the FROM column before a select-list alias).
CREATE OR REPLACE TEMP TABLE cost_stage AS
WITH src AS (
    {{source}}
)
SELECT
    _source_path,
    _ordinal,
    cost_decimal(BilledCost) AS p_billed_cost,
    cost_decimal(EffectiveCost) AS p_effective_cost,
    cost_decimal(ListCost) AS p_list_cost,
    upper(trim(BillingCurrency)) AS p_billing_currency,
    cost_timestamp(ChargePeriodStart) AS p_charge_period_start,
    cost_timestamp(ChargePeriodEnd) AS p_charge_period_end,
    ChargeCategory AS p_charge_category,
    ChargeClass AS p_charge_class,
    lower(ResourceId) AS p_resource_id,
    ResourceName AS p_resource_name,
    ResourceType AS p_resource_type,
    ServiceName AS p_service_name,
    CASE
        WHEN SubAccountId ILIKE '/subscriptions/%' THEN nullif(lower(split_part(SubAccountId, '/', 3)), '')
        ELSE lower(SubAccountId)
    END AS p_sub_account_id,
    coalesce(
        lower(x_ResourceGroupName),
        nullif(regexp_extract(p_resource_id, '/resourcegroups/([^/]+)', 1), '')
    ) AS p_resource_group,
    coalesce(lower(RegionId), RegionName) AS p_region,
    x_SkuMeterCategory AS p_meter_category,
    ChargeDescription AS p_charge_description,
    cost_decimal(ConsumedQuantity) AS p_consumed_quantity,
    ConsumedUnit AS p_consumed_unit,
    cost_tags(Tags) AS p_tags,
    cost_json(coalesce(x_SkuDetails, SkuPriceDetails)) AS p_additional_info,
    CASE
        WHEN BilledCost IS NULL THEN 'missing BilledCost'
        WHEN p_billed_cost IS NULL THEN 'bad BilledCost: ' || BilledCost
        WHEN EffectiveCost IS NULL THEN 'missing EffectiveCost'
        WHEN p_effective_cost IS NULL THEN 'bad EffectiveCost: ' || EffectiveCost
        WHEN ListCost IS NOT NULL AND p_list_cost IS NULL THEN 'bad ListCost: ' || ListCost
        WHEN ConsumedQuantity IS NOT NULL AND p_consumed_quantity IS NULL
            THEN 'bad ConsumedQuantity: ' || ConsumedQuantity
        WHEN p_billing_currency IS NULL OR p_billing_currency = '' THEN 'missing BillingCurrency'
        WHEN ChargePeriodStart IS NULL THEN 'missing ChargePeriodStart'
        WHEN p_charge_period_start IS NULL THEN 'bad ChargePeriodStart: ' || ChargePeriodStart
        WHEN ChargePeriodEnd IS NOT NULL AND p_charge_period_end IS NULL
            THEN 'bad ChargePeriodEnd: ' || ChargePeriodEnd
        WHEN p_charge_period_start < CAST($month AS TIMESTAMP)
            OR p_charge_period_start >= CAST($month AS TIMESTAMP) + INTERVAL 1 MONTH
            THEN 'charge period outside billing month ' || strftime(CAST($month AS DATE), '%Y-%m')
                || ': ' || ChargePeriodStart
        WHEN p_tags IS NULL THEN 'bad Tags (not a JSON object)'
    END AS p_reason
FROM src
