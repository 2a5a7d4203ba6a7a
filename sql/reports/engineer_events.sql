-- Engineer pack: the month's open budget and anomaly findings (events, no savings), with the
-- columns of engineer_findings, listed beside the owner's cleanup findings.
SELECT
    owner,
    finding_id,
    rule_id,
    category,
    severity,
    workspace,
    resource_name,
    resource_id,
    project,
    savings,
    currency,
    action,
    CAST(evidence AS VARCHAR) AS evidence,
    command,
    first_seen,
    last_seen,
    FALSE AS counted
FROM findings
WHERE billing_month = $billing_month AND status = 'open' AND rule_id IN ('budget', 'anomaly')
ORDER BY rule_id ASC, resource_id ASC, finding_id ASC
