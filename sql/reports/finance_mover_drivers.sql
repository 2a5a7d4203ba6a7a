-- Finance pack: what moved inside each project from the month before — the change in effective
-- cost per resource (a compute or endpoint by name, else the billed resource), ranked within
-- its project by the size of the change. The top movers are explained by their first lines.
WITH this_month AS (
    SELECT
        billing_currency,
        project,
        resource_id,
        aml_kind,
        aml_name,
        sum(effective_cost) AS effective_cost
    FROM cost_allocation
    WHERE billing_month = $billing_month
    GROUP BY billing_currency, project, resource_id, aml_kind, aml_name
),

previous_month AS (
    SELECT
        billing_currency,
        project,
        resource_id,
        aml_kind,
        aml_name,
        sum(effective_cost) AS effective_cost
    FROM cost_allocation
    WHERE billing_month = CAST($billing_month AS DATE) - INTERVAL 1 MONTH
    GROUP BY billing_currency, project, resource_id, aml_kind, aml_name
),

moves AS (
    SELECT
        coalesce(this_month.billing_currency, previous_month.billing_currency) AS billing_currency,
        coalesce(this_month.project, previous_month.project) AS project,
        coalesce(this_month.resource_id, previous_month.resource_id) AS resource_id,
        coalesce(this_month.aml_kind, previous_month.aml_kind) AS aml_kind,
        coalesce(this_month.aml_name, previous_month.aml_name) AS aml_name,
        CAST(previous_month.effective_cost AS DECIMAL(38, 10)) AS previous_effective_cost,
        CAST(coalesce(this_month.effective_cost, 0) AS DECIMAL(38, 10)) AS effective_cost,
        CAST(
            coalesce(this_month.effective_cost, 0) - coalesce(previous_month.effective_cost, 0)
            AS DECIMAL(38, 10)
        ) AS change
    FROM this_month
    FULL OUTER JOIN previous_month
        ON this_month.billing_currency = previous_month.billing_currency
            AND this_month.project = previous_month.project
            AND this_month.resource_id IS NOT DISTINCT FROM previous_month.resource_id
            AND this_month.aml_kind = previous_month.aml_kind
            AND this_month.aml_name IS NOT DISTINCT FROM previous_month.aml_name
)

SELECT
    billing_currency,
    project,
    row_number() OVER (
        PARTITION BY billing_currency, project ORDER BY abs(change) DESC, aml_name, resource_id ASC
    ) AS rank,
    coalesce(aml_name, regexp_extract(resource_id, '[^/]+$'), '(no resource id)') AS resource,
    aml_kind,
    resource_id,
    previous_effective_cost,
    effective_cost,
    change
FROM moves
WHERE change <> 0
ORDER BY billing_currency, project, rank
