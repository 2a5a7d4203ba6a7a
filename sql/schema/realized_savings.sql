-- Public view (docs/tables.md): the realized-savings ledger. One row per resolution of a finding
-- (a capture no longer showed it): the resource's cost in the month before the month it resolved
-- in and in the month after, per currency. `realized` is before − after once both months are
-- published; until the month after is published the row is `pending` (cost_after null).
CREATE VIEW IF NOT EXISTS realized_savings AS
WITH resolutions AS (
    SELECT
        finding_id,
        coalesce(
            try_cast(json_extract_string(evidence, '$.resolved_at') AS TIMESTAMPTZ), last_seen
        ) AS resolved_at,
        arg_min(billing_month, billing_month) AS resolved_in_month,
        arg_min(rule_id, billing_month) AS rule_id,
        arg_min(category, billing_month) AS category,
        arg_min(workspace, billing_month) AS workspace,
        arg_min(resource_id, billing_month) AS resource_id,
        arg_min(resource_name, billing_month) AS resource_name,
        arg_min(project, billing_month) AS project,
        arg_min(owner, billing_month) AS owner,
        arg_min(currency, billing_month) AS currency,
        arg_min(savings, billing_month) AS estimated_savings,
        arg_min(first_seen, billing_month) AS first_seen,
        arg_min(last_seen, billing_month) AS last_seen
    FROM findings
    WHERE status = 'resolved'
    GROUP BY ALL
),

resource_costs AS (
    SELECT
        billing_month,
        billing_currency,
        CASE aml_kind
            WHEN 'compute' THEN workspace_id || '/computes/' || lower(aml_name)
            WHEN 'endpoint'
                THEN
                    workspace_id || '/onlineendpoints/'
                    || replace(lower(aml_name), '/', '/deployments/')
        END AS resource_id,
        sum(effective_cost) AS cost
    FROM aml_resource_usage
    GROUP BY ALL
),

published AS (
    SELECT DISTINCT billing_month FROM cost_allocation
),

measured AS (
    SELECT
        r.*,
        CAST(r.resolved_in_month - INTERVAL 1 MONTH AS DATE) AS month_before,
        CAST(r.resolved_in_month + INTERVAL 1 MONTH AS DATE) AS month_after
    FROM resolutions AS r
)

SELECT
    m.finding_id,
    m.rule_id,
    m.category,
    m.workspace,
    m.resource_id,
    m.resource_name,
    m.project,
    m.owner,
    m.currency,
    m.first_seen,
    m.last_seen,
    m.resolved_at,
    m.resolved_in_month,
    m.estimated_savings,
    m.month_before,
    m.month_after,
    CASE WHEN pb.billing_month IS NULL THEN NULL ELSE coalesce(cb.cost, 0) END AS cost_before,
    CASE WHEN pa.billing_month IS NULL THEN NULL ELSE coalesce(ca.cost, 0) END AS cost_after,
    cost_before - cost_after AS realized,
    CASE
        WHEN pb.billing_month IS NULL THEN 'month before not published'
        WHEN pa.billing_month IS NULL THEN 'pending'
        ELSE 'measured'
    END AS ledger_status
FROM measured AS m
LEFT JOIN published AS pb ON m.month_before = pb.billing_month
LEFT JOIN published AS pa ON m.month_after = pa.billing_month
LEFT JOIN resource_costs AS cb
    ON
        m.resource_id = cb.resource_id
        AND m.month_before = cb.billing_month
        AND m.currency = cb.billing_currency
LEFT JOIN resource_costs AS ca
    ON
        m.resource_id = ca.resource_id
        AND m.month_after = ca.billing_month
        AND m.currency = ca.billing_currency
ORDER BY m.resolved_at, m.resource_id, m.rule_id
