-- Finance pack: every open cleanup finding of the month, largest savings first. `counted_savings`
-- is the savings counted in the totals: a resource flagged by several rules counts once, with its
-- largest estimate (the others show 0 there), so the column adds up to the headline savings.
WITH open_findings AS (
    SELECT
        *,
        row_number()
            OVER (PARTITION BY currency, resource_id ORDER BY savings DESC, rule_id ASC, finding_id ASC)
            AS pick
    FROM findings
    WHERE billing_month = $billing_month AND status = 'open'
)

SELECT
    currency AS billing_currency,
    coalesce(project, $unallocated) AS project,
    coalesce(owner, $no_owner) AS owner,
    workspace,
    resource_name,
    resource_id,
    rule_id,
    severity,
    CAST(savings AS DECIMAL(38, 10)) AS savings,
    CAST(CASE WHEN pick = 1 THEN savings ELSE 0 END AS DECIMAL(38, 10)) AS counted_savings,
    action,
    command,
    finding_id
FROM open_findings
ORDER BY billing_currency ASC, savings DESC, rule_id ASC, resource_id ASC, finding_id ASC
