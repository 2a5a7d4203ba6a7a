-- Finance report, "changes since the last review": findings resolved in the month, with the
-- realized-savings ledger's before / after cost of the resource.
SELECT
    rule_id,
    workspace,
    resource_name,
    owner,
    currency,
    first_seen,
    resolved_at,
    month_before,
    cost_before,
    month_after,
    cost_after,
    realized,
    ledger_status
FROM realized_savings
WHERE resolved_in_month = $billing_month
ORDER BY resolved_at, resource_name, rule_id
