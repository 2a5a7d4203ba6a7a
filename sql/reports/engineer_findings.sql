-- Engineer pack: the open findings of the month, largest savings first, with the evidence and
-- the command (already quoted for a POSIX shell; the tool never runs it).
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
    last_seen
FROM findings
WHERE billing_month = $billing_month AND status = 'open'
ORDER BY savings DESC, rule_id ASC, resource_id ASC, finding_id ASC
