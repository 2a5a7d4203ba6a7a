-- Engineer pack: the open findings of the month, largest savings first, with the evidence and
-- the command (already quoted for a POSIX shell; the tool never runs it); `counted` marks the
-- finding whose savings count in a total (macros/counted_findings).
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
    counted
FROM counted_findings($billing_month, $unallocated)
ORDER BY savings DESC, rule_id ASC, resource_id ASC, finding_id ASC
