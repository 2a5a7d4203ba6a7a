-- Finance pack: how the project of each amount was found, as a share of the month's effective
-- cost per currency: the resource's own tag, a tag inherited from its compute / endpoint /
-- workspace / resource group / subscription, a finops.yaml rule or shared split, or nothing
-- (the method lists: dagster_project/attribution/methods.py, bound as parameters).
WITH classified AS (
    SELECT
        billing_currency,
        CASE
            WHEN list_contains($own_tag_methods, allocation_method) THEN 'own tag'
            WHEN list_contains($inherited_tag_methods, allocation_method) THEN 'inherited tag'
            WHEN list_contains($rule_methods, allocation_method) THEN 'rule or shared split'
            ELSE 'unallocated'
        END AS coverage,
        allocation_method,
        effective_cost
    FROM cost_allocation
    WHERE billing_month = $billing_month
),

per_coverage AS (
    SELECT
        billing_currency,
        coverage,
        sum(effective_cost) AS effective_cost,
        string_agg(DISTINCT allocation_method, ', ' ORDER BY allocation_method) AS methods
    FROM classified
    GROUP BY billing_currency, coverage
)

SELECT
    billing_currency,
    coverage,
    methods,
    CAST(effective_cost AS DECIMAL(38, 10)) AS effective_cost,
    share_pct(effective_cost, sum(effective_cost) OVER (PARTITION BY billing_currency)) AS share_pct
FROM per_coverage
ORDER BY
    billing_currency,
    CASE coverage WHEN 'own tag' THEN 1 WHEN 'inherited tag' THEN 2 WHEN 'rule or shared split' THEN 3 ELSE 4 END
