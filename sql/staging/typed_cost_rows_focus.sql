-- Typed rows of one group of FOCUS files (any version) for billing month $billing_month: every data row,
-- with the reason it cannot be published (NULL when it can) and the repairs applied to it. A
-- fragment: staging/cost_line_items splices it into its `typed` CTE. Only the columns named here
-- are parsed; the raw text of rejected rows is fetched afterwards (cost_reject_raw).
-- `v` turns the literal text NULL (FOCUS sample data writes it unquoted) into SQL NULL and
-- remembers that it did. Parsed columns carry a p_ prefix so they never collide with source
-- names (DuckDB binds a bare name to the FROM column before a select-list alias).
WITH src AS (
    {{source}}
),

v AS (
    SELECT
        _source_path,
        _ordinal,
        _aml_broken_reason,
        nullif(BilledCost, 'NULL') AS BilledCost,
        nullif(EffectiveCost, 'NULL') AS EffectiveCost,
        nullif(ListCost, 'NULL') AS ListCost,
        nullif(BillingCurrency, 'NULL') AS BillingCurrency,
        nullif(ChargePeriodStart, 'NULL') AS ChargePeriodStart,
        nullif(ChargePeriodEnd, 'NULL') AS ChargePeriodEnd,
        nullif(ChargeCategory, 'NULL') AS ChargeCategory,
        nullif(ChargeClass, 'NULL') AS ChargeClass,
        nullif(ResourceId, 'NULL') AS ResourceId,
        nullif(ResourceName, 'NULL') AS ResourceName,
        nullif(ResourceType, 'NULL') AS ResourceType,
        nullif(ServiceName, 'NULL') AS ServiceName,
        nullif(SubAccountId, 'NULL') AS SubAccountId,
        nullif(x_ResourceGroupName, 'NULL') AS x_ResourceGroupName,
        nullif(RegionId, 'NULL') AS RegionId,
        nullif(RegionName, 'NULL') AS RegionName,
        nullif(x_SkuMeterCategory, 'NULL') AS x_SkuMeterCategory,
        nullif(ChargeDescription, 'NULL') AS ChargeDescription,
        nullif(ConsumedQuantity, 'NULL') AS ConsumedQuantity,
        nullif(ConsumedUnit, 'NULL') AS ConsumedUnit,
        nullif(Tags, 'NULL') AS Tags,
        nullif(coalesce(x_SkuDetails, SkuPriceDetails), 'NULL') AS SkuDetails,
        -- version 1.2: the meter (1.0 x_SkuMeterName, 1.2 SkuMeter), the commitment discount and
        -- the Cost Management allocation rule, as delivered.
        nullif(coalesce(x_SkuMeterName, SkuMeter), 'NULL') AS SkuMeterName,
        nullif(CommitmentDiscountId, 'NULL') AS CommitmentDiscountId,
        nullif(CommitmentDiscountName, 'NULL') AS CommitmentDiscountName,
        nullif(CommitmentDiscountType, 'NULL') AS CommitmentDiscountType,
        nullif(CommitmentDiscountStatus, 'NULL') AS CommitmentDiscountStatus,
        nullif(x_CostAllocationRuleName, 'NULL') AS x_CostAllocationRuleName,
        coalesce('NULL' IN (
            BilledCost, EffectiveCost, ListCost, BillingCurrency, ChargePeriodStart,
            ChargePeriodEnd, ChargeCategory, ChargeClass, ResourceId, ResourceName, ResourceType,
            ServiceName, SubAccountId, x_ResourceGroupName, RegionId, RegionName, x_SkuMeterCategory,
            ChargeDescription, ConsumedQuantity, ConsumedUnit, Tags, x_SkuDetails, SkuPriceDetails,
            x_SkuMeterName, SkuMeter, CommitmentDiscountId, CommitmentDiscountName,
            CommitmentDiscountType, CommitmentDiscountStatus, x_CostAllocationRuleName
        ),
        FALSE) AS r_null
    FROM src
),

-- Ids lowercased once: published lowercase, and compared with the text as read to record the
-- id_case repair.
ids AS (
    SELECT
        *,
        lower(ResourceId) AS resource_id_lower,
        lower(SubAccountId) AS sub_account_lower,
        lower(x_ResourceGroupName) AS resource_group_lower,
        -- Repair detection runs only for rows that need it: r_check is false only when no
        -- check but id_case can flag the row (tags, dates, literal NULLs and amounts all plain),
        -- which is most rows; the exact checks then never run (see p_repairs).
        coalesce(
            r_null OR NOT starts_with(Tags, '{')
            OR contains(ChargePeriodStart, '/') OR contains(ChargePeriodEnd, '/')
            OR cost_amount_suspect(BilledCost) OR cost_amount_suspect(EffectiveCost)
            OR cost_amount_suspect(ListCost) OR cost_amount_suspect(ConsumedQuantity), FALSE
        ) AS r_check
    FROM v
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
    resource_id_lower AS p_resource_id,
    ResourceName AS p_resource_name,
    ResourceType AS p_resource_type,
    ServiceName AS p_service_name,
    CASE
        WHEN starts_with(sub_account_lower, '/subscriptions/') THEN nullif(split_part(sub_account_lower, '/', 3), '')
        ELSE sub_account_lower
    END AS p_sub_account_id,
    -- FOCUS 1.0 has no x_ResourceGroupName: take it from the id (string functions, not a regexp,
    -- and only for the rows that need it).
    CASE
        WHEN resource_group_lower IS NOT NULL THEN resource_group_lower
        WHEN contains(resource_id_lower, '/resourcegroups/')
            THEN nullif(split_part(split_part(resource_id_lower, '/resourcegroups/', 2), '/', 1), '')
    END AS p_resource_group,
    coalesce(lower(RegionId), RegionName) AS p_region,
    x_SkuMeterCategory AS p_meter_category,
    ChargeDescription AS p_charge_description,
    cost_decimal(ConsumedQuantity) AS p_consumed_quantity,
    ConsumedUnit AS p_consumed_unit,
    cost_tags(Tags) AS p_tags,
    cost_json(SkuDetails) AS p_additional_info,
    SkuMeterName AS p_sku_meter,
    CommitmentDiscountId AS p_commitment_discount_id,
    CommitmentDiscountName AS p_commitment_discount_name,
    CommitmentDiscountType AS p_commitment_discount_type,
    CommitmentDiscountStatus AS p_commitment_discount_status,
    x_CostAllocationRuleName AS p_cost_allocation_rule_name,
    CASE
        WHEN r_check
            THEN
                concat_ws(
                    ',',
                    CASE WHEN cost_tags_braces(Tags) THEN 'tags_braces' END,
                    CASE WHEN contains(ChargePeriodStart, '/') OR contains(ChargePeriodEnd, '/') THEN 'date_mdy' END,
                    CASE WHEN r_null THEN 'null_literal' END,
                    CASE WHEN cost_scientific(BilledCost) OR cost_scientific(EffectiveCost) OR cost_scientific(ListCost)
                            OR cost_scientific(ConsumedQuantity) THEN 'scientific'
                    END,
                    CASE WHEN resource_id_lower <> ResourceId OR sub_account_lower <> SubAccountId
                            OR resource_group_lower <> x_ResourceGroupName THEN 'id_case'
                    END,
                    CASE WHEN cost_long_decimal(BilledCost) OR cost_long_decimal(EffectiveCost)
                            OR cost_long_decimal(ListCost) OR cost_long_decimal(ConsumedQuantity) THEN 'long_decimal'
                    END
                )
        WHEN resource_id_lower <> ResourceId OR sub_account_lower <> SubAccountId
            OR resource_group_lower <> x_ResourceGroupName
            THEN 'id_case'
        ELSE ''
    END AS p_repairs,
    CASE
        -- a line the CSV repair could not parse (dagster_project/costs/repair_csv.py)
        WHEN _aml_broken_reason IS NOT NULL THEN _aml_broken_reason
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
        WHEN p_charge_period_start < CAST($billing_month AS TIMESTAMP)
            OR p_charge_period_start >= CAST($billing_month AS TIMESTAMP) + INTERVAL 1 MONTH
            THEN 'charge period outside billing month ' || strftime(CAST($billing_month AS DATE), '%Y-%m')
                || ': ' || ChargePeriodStart
        WHEN p_tags IS NULL THEN 'bad Tags (not a JSON object)'
    END AS p_reason
FROM ids
