-- FOCUS 1.3 split cost allocation, per origin charge of cost_allocation_focus: the allocated
-- charges' ratios (AllocatedMethodDetails.Elements[*].AllocatedRatio) must sum to 1 and their costs
-- to the origin charge's. Returns only the origin charges that break a rule.
WITH elements AS (
    SELECT
        x_OriginChargeId AS origin_charge_id,
        BillingCurrency AS billing_currency,
        EffectiveCost AS effective_cost,
        BilledCost AS billed_cost,
        x_OriginEffectiveCost AS origin_effective_cost,
        x_OriginBilledCost AS origin_billed_cost,
        CAST(json_extract_string(AllocatedMethodDetails, '$.Elements[0].AllocatedRatio') AS DECIMAL(38, 12))
            AS allocated_ratio
    FROM cost_allocation_focus
    WHERE billing_month = $billing_month
),

groups AS (
    SELECT
        origin_charge_id,
        billing_currency,
        count(*) AS allocated_charges,
        sum(allocated_ratio) AS ratio_total,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost,
        any_value(origin_effective_cost) AS origin_effective_cost,
        any_value(origin_billed_cost) AS origin_billed_cost,
        count(DISTINCT origin_effective_cost) AS origin_values
    FROM elements
    GROUP BY ALL
)

SELECT *
FROM groups
WHERE
    ratio_total IS DISTINCT FROM 1
    OR effective_cost <> origin_effective_cost
    OR billed_cost <> origin_billed_cost
    OR origin_values <> 1
ORDER BY origin_charge_id
