-- Savings per resource, the one home of the rule "each resource counts once, at its largest
-- savings": the open findings of a month, each with `counted`, true for exactly one finding per
-- resource and currency — the one with the largest savings (ties: project, the unallocated line
-- named by `unallocated`, then rule and finding id). Several rules can flag one resource (an
-- instance left running and without idle shutdown); their savings overlap, so a total adds only
-- the counted ones. The findings asset's metadata, the CLI summary (run_summary_findings), the
-- finance pack (finance_findings_*, finance_open_findings) and the engineer pack
-- (engineer_findings) all read it. A table macro binds `findings` when it is created, so it is
-- created where it is read (`dagster_project.findings.savings.install_counted_findings`).
CREATE OR REPLACE TEMP MACRO counted_findings(month, unallocated) AS TABLE
    SELECT
        *,
        row_number() OVER (
            PARTITION BY currency, resource_id
            ORDER BY savings DESC, coalesce(project, unallocated) ASC, rule_id ASC, finding_id ASC
        ) = 1 AS counted
    FROM findings
    -- Budget and anomaly findings are events with no savings: shown in their own views
    -- (finance_budgets, finance_anomalies, engineer_events), never counted here.
    WHERE billing_month = month AND status = 'open' AND rule_id NOT IN ('budget', 'anomaly')
