-- Stage one group of EA cost-details files (Cost or CostInBillingCurrency vintage) for billing
-- month $month, mapped to FOCUS names after the FinOps Foundation's conversion rules
-- (focus_converters azure.csv). $cost_basis is 'actual' or 'amortized':
--   actual:    billed = cost; effective = cost, except commitment purchases (effective 0: their
--              cost is amortized into usage, so FOCUS counts it once);
--   amortized: effective = cost; billed = cost, except usage covered by a reservation or savings
--              plan (billed 0: its billed cost is the purchase).
CREATE OR REPLACE TEMP TABLE cost_stage AS
WITH src AS (
    {{source}}
)
SELECT
    _source_path,
    _ordinal,
    coalesce(CostInBillingCurrency, Cost) AS p_cost_text,
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
    CAST(cost_decimal(PayGPrice) * cost_decimal(Quantity) AS DECIMAL(38, 10)) AS p_list_cost,
    upper(trim(coalesce(BillingCurrencyCode, BillingCurrency))) AS p_billing_currency,
    cost_timestamp(Date) AS p_charge_period_start,
    p_charge_period_start + INTERVAL 1 DAY AS p_charge_period_end,
    CASE
        WHEN ChargeType IN ('Usage', 'UnusedReservation', 'UnusedSavingsPlan') THEN 'Usage'
        WHEN ChargeType IN ('Purchase', 'Tax') THEN ChargeType
        WHEN ChargeType = 'Refund' THEN 'Credit'
        ELSE 'Adjustment'
    END AS p_charge_category,
    CAST(NULL AS VARCHAR) AS p_charge_class,
    lower(ResourceId) AS p_resource_id,
    ResourceName AS p_resource_name,
    CAST(NULL AS VARCHAR) AS p_resource_type,
    MeterCategory AS p_service_name,
    lower(coalesce(SubscriptionId, SubscriptionGuid)) AS p_sub_account_id,
    coalesce(
        lower(ResourceGroup),
        nullif(regexp_extract(p_resource_id, '/resourcegroups/([^/]+)', 1), '')
    ) AS p_resource_group,
    lower(ResourceLocation) AS p_region,
    MeterCategory AS p_meter_category,
    coalesce(ProductName, Product) AS p_charge_description,
    cost_decimal(Quantity) AS p_consumed_quantity,
    UnitOfMeasure AS p_consumed_unit,
    cost_tags(Tags) AS p_tags,
    cost_json(AdditionalInfo) AS p_additional_info,
    CASE
        WHEN p_cost_text IS NULL THEN 'missing CostInBillingCurrency/Cost'
        WHEN p_cost IS NULL THEN 'bad cost: ' || p_cost_text
        WHEN Quantity IS NOT NULL AND p_consumed_quantity IS NULL THEN 'bad Quantity: ' || Quantity
        WHEN PayGPrice IS NOT NULL AND cost_decimal(PayGPrice) IS NULL THEN 'bad PayGPrice: ' || PayGPrice
        WHEN p_billing_currency IS NULL OR p_billing_currency = '' THEN 'missing BillingCurrency'
        WHEN Date IS NULL THEN 'missing Date'
        WHEN p_charge_period_start IS NULL THEN 'bad Date: ' || Date
        WHEN p_charge_period_start < CAST($month AS TIMESTAMP)
            OR p_charge_period_start >= CAST($month AS TIMESTAMP) + INTERVAL 1 MONTH
            THEN 'charge period outside billing month ' || strftime(CAST($month AS DATE), '%Y-%m')
                || ': ' || Date
        WHEN p_tags IS NULL THEN 'bad Tags (not a JSON object)'
    END AS p_reason
FROM src
