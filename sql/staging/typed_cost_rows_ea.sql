-- Typed rows (a fragment for staging/cost_line_items) of one group of EA cost-details files (Cost or
-- CostInBillingCurrency vintage) or MCA files
-- (the same fields in camelCase: DuckDB binds names case-insensitively; MCA names the currency
-- `billingCurrency` and the group `resourceGroupName`) for billing month $billing_month, mapped to FOCUS names after
-- the FinOps Foundation's conversion rules
-- (focus_converters azure.csv). $cost_basis is 'actual' or 'amortized':
--   actual:    billed = cost; effective = cost, except commitment purchases (effective 0: their
--              cost is amortized into usage, so FOCUS counts it once);
--   amortized: effective = cost; billed = cost, except usage covered by a reservation or savings
--              plan (billed 0: its billed cost is the purchase).
-- `v` turns the literal text NULL into SQL NULL and remembers that it did (a recorded repair).
WITH src AS (
    {{source}}
),

v AS (
    SELECT
        _source_path,
        _ordinal,
        _aml_broken_reason,
        nullif(coalesce(CostInBillingCurrency, Cost), 'NULL') AS CostText,
        nullif(ChargeType, 'NULL') AS ChargeType,
        nullif(PricingModel, 'NULL') AS PricingModel,
        nullif(PayGPrice, 'NULL') AS PayGPrice,
        nullif(Quantity, 'NULL') AS Quantity,
        nullif(coalesce(BillingCurrencyCode, BillingCurrency), 'NULL') AS Currency,
        nullif(Date, 'NULL') AS Date,
        nullif(ResourceId, 'NULL') AS ResourceId,
        nullif(ResourceName, 'NULL') AS ResourceName,
        nullif(MeterCategory, 'NULL') AS MeterCategory,
        nullif(coalesce(SubscriptionId, SubscriptionGuid), 'NULL') AS SubscriptionId,
        nullif(coalesce(ResourceGroup, ResourceGroupName), 'NULL') AS ResourceGroup,
        nullif(ResourceLocation, 'NULL') AS ResourceLocation,
        nullif(coalesce(ProductName, Product), 'NULL') AS ProductName,
        nullif(UnitOfMeasure, 'NULL') AS UnitOfMeasure,
        nullif(Tags, 'NULL') AS Tags,
        nullif(AdditionalInfo, 'NULL') AS AdditionalInfo,
        -- version 1.2: the meter, the reservation / savings plan (benefit* in later vintages) and
        -- the Cost Management allocation rule, as delivered.
        nullif(MeterName, 'NULL') AS MeterName,
        nullif(coalesce(benefitId, ReservationId), 'NULL') AS CommitmentId,
        nullif(coalesce(benefitName, ReservationName), 'NULL') AS CommitmentName,
        nullif(CostAllocationRuleName, 'NULL') AS CostAllocationRuleName,
        coalesce('NULL' IN (
            CostInBillingCurrency, Cost, ChargeType, PricingModel, PayGPrice, Quantity,
            BillingCurrencyCode, BillingCurrency, Date, ResourceId, ResourceName, MeterCategory,
            SubscriptionId, SubscriptionGuid, ResourceGroup, ResourceGroupName, ResourceLocation,
            ProductName, Product, UnitOfMeasure, Tags, AdditionalInfo, MeterName, benefitId,
            ReservationId, benefitName, ReservationName, CostAllocationRuleName
        ), FALSE) AS r_null
    FROM src
),

-- Ids lowercased once: published lowercase, and compared with the text as read to record the
-- id_case repair.
ids AS (
    SELECT
        *,
        lower(ResourceId) AS resource_id_lower,
        lower(SubscriptionId) AS subscription_lower,
        lower(ResourceGroup) AS resource_group_lower,
        -- Repair detection runs only for rows that need it: r_check is false only when no
        -- check but id_case can flag the row (tags, dates, literal NULLs and amounts all plain),
        -- which is most rows; the exact checks then never run (see p_repairs).
        coalesce(
            r_null OR NOT starts_with(Tags, '{') OR contains(Date, '/')
            OR cost_amount_suspect(CostText) OR cost_amount_suspect(PayGPrice)
            OR cost_amount_suspect(Quantity), FALSE
        ) AS r_check
    FROM v
)

SELECT
    _source_path,
    _ordinal,
    CostText AS p_cost_text,
    cost_decimal(p_cost_text) AS p_cost,
    CASE
        WHEN $cost_basis = 'amortized' AND ChargeType = 'Usage'
            AND PricingModel IN ('Reservation', 'SavingsPlan') THEN CAST(0 AS DECIMAL(38, 10))
        ELSE p_cost
    END AS p_billed_cost,
    CASE
        WHEN $cost_basis = 'actual' AND ChargeType = 'Purchase'
            AND PricingModel IN ('Reservation', 'SavingsPlan') THEN CAST(0 AS DECIMAL(38, 10))
        ELSE p_cost
    END AS p_effective_cost,
    -- The exact product is DECIMAL(38, 20) and overflows (an error that would fail the whole load)
    -- from 10^18 on: a list cost that large is out of range, the row a reject (p_reason). The
    -- DOUBLE only guards the multiplication; it never reaches a column.
    CASE
        WHEN abs(CAST(cost_decimal(PayGPrice) AS DOUBLE) * CAST(cost_decimal(Quantity) AS DOUBLE)) < 1e17
            THEN CAST(cost_decimal(PayGPrice) * cost_decimal(Quantity) AS DECIMAL(38, 10))
    END AS p_list_cost,
    upper(trim(Currency)) AS p_billing_currency,
    cost_timestamp(Date) AS p_charge_period_start,
    p_charge_period_start + INTERVAL 1 DAY AS p_charge_period_end,
    CASE
        WHEN ChargeType IN ('Usage', 'UnusedReservation', 'UnusedSavingsPlan') THEN 'Usage'
        WHEN ChargeType IN ('Purchase', 'Tax') THEN ChargeType
        WHEN ChargeType = 'Refund' THEN 'Credit'
        ELSE 'Adjustment'
    END AS p_charge_category,
    CAST(NULL AS VARCHAR) AS p_charge_class,
    resource_id_lower AS p_resource_id,
    ResourceName AS p_resource_name,
    CAST(NULL AS VARCHAR) AS p_resource_type,
    MeterCategory AS p_service_name,
    subscription_lower AS p_sub_account_id,
    CASE
        WHEN resource_group_lower IS NOT NULL THEN resource_group_lower
        WHEN contains(resource_id_lower, '/resourcegroups/')
            THEN nullif(split_part(split_part(resource_id_lower, '/resourcegroups/', 2), '/', 1), '')
    END AS p_resource_group,
    lower(ResourceLocation) AS p_region,
    MeterCategory AS p_meter_category,
    ProductName AS p_charge_description,
    cost_decimal(Quantity) AS p_consumed_quantity,
    UnitOfMeasure AS p_consumed_unit,
    cost_tags(Tags) AS p_tags,
    cost_json(AdditionalInfo) AS p_additional_info,
    MeterName AS p_sku_meter,
    -- A commitment row: usage it covered, its unused hours, or its purchase / refund.
    CASE
        WHEN PricingModel IN ('Reservation', 'SavingsPlan')
            OR ChargeType IN ('UnusedReservation', 'UnusedSavingsPlan') THEN CommitmentId
    END AS p_commitment_discount_id,
    CASE
        WHEN PricingModel IN ('Reservation', 'SavingsPlan')
            OR ChargeType IN ('UnusedReservation', 'UnusedSavingsPlan') THEN CommitmentName
    END AS p_commitment_discount_name,
    CASE
        WHEN PricingModel = 'Reservation' OR ChargeType = 'UnusedReservation' THEN 'Reservation'
        WHEN PricingModel = 'SavingsPlan' OR ChargeType = 'UnusedSavingsPlan' THEN 'Savings Plan'
    END AS p_commitment_discount_type,
    CASE
        WHEN ChargeType IN ('UnusedReservation', 'UnusedSavingsPlan') THEN 'Unused'
        WHEN ChargeType = 'Usage' AND PricingModel IN ('Reservation', 'SavingsPlan') THEN 'Used'
    END AS p_commitment_discount_status,
    CostAllocationRuleName AS p_cost_allocation_rule_name,
    CASE
        WHEN r_check
            THEN
                concat_ws(
                    ',',
                    CASE WHEN cost_tags_braces(Tags) THEN 'tags_braces' END,
                    CASE WHEN contains(Date, '/') THEN 'date_mdy' END,
                    CASE WHEN r_null THEN 'null_literal' END,
                    CASE WHEN cost_scientific(CostText) OR cost_scientific(PayGPrice) OR cost_scientific(Quantity)
                            THEN 'scientific'
                    END,
                    CASE WHEN resource_id_lower <> ResourceId OR subscription_lower <> SubscriptionId
                            OR resource_group_lower <> ResourceGroup THEN 'id_case'
                    END,
                    CASE WHEN cost_long_decimal(CostText) OR cost_long_decimal(PayGPrice) OR cost_long_decimal(Quantity)
                            THEN 'long_decimal'
                    END
                )
        WHEN resource_id_lower <> ResourceId OR subscription_lower <> SubscriptionId
            OR resource_group_lower <> ResourceGroup
            THEN 'id_case'
        ELSE ''
    END AS p_repairs,
    CASE
        -- a line the CSV repair could not parse (dagster_project/costs/repair_csv.py)
        WHEN _aml_broken_reason IS NOT NULL THEN _aml_broken_reason
        WHEN p_cost_text IS NULL THEN 'missing CostInBillingCurrency/Cost'
        WHEN p_cost IS NULL THEN 'bad cost: ' || p_cost_text
        WHEN Quantity IS NOT NULL AND p_consumed_quantity IS NULL THEN 'bad Quantity: ' || Quantity
        WHEN PayGPrice IS NOT NULL AND cost_decimal(PayGPrice) IS NULL THEN 'bad PayGPrice: ' || PayGPrice
        WHEN p_list_cost IS NULL AND cost_decimal(PayGPrice) IS NOT NULL AND p_consumed_quantity IS NOT NULL
            THEN 'list cost out of range: PayGPrice ' || PayGPrice || ' x Quantity ' || Quantity
        WHEN p_billing_currency IS NULL OR p_billing_currency = '' THEN 'missing BillingCurrency'
        WHEN Date IS NULL THEN 'missing Date'
        WHEN p_charge_period_start IS NULL THEN 'bad Date: ' || Date
        WHEN p_charge_period_start < CAST($billing_month AS TIMESTAMP)
            OR p_charge_period_start >= CAST($billing_month AS TIMESTAMP) + INTERVAL 1 MONTH
            THEN 'charge period outside billing month ' || strftime(CAST($billing_month AS DATE), '%Y-%m')
                || ': ' || Date
        WHEN p_tags IS NULL THEN 'bad Tags (not a JSON object)'
    END AS p_reason
FROM ids
