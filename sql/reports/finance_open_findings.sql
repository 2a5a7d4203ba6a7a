-- Finance pack: every open cleanup finding of the month, largest savings first. `counted_savings`
-- is the savings counted in the totals: a resource counts once, at its largest savings (the others
-- show 0 there; macros/counted_findings), so the column adds up to the headline savings.
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
    CAST(CASE WHEN counted THEN savings ELSE 0 END AS DECIMAL(38, 10)) AS counted_savings,
    action,
    command,
    finding_id
FROM counted_findings($billing_month, $unallocated)
ORDER BY billing_currency ASC, savings DESC, rule_id ASC, resource_id ASC, finding_id ASC
