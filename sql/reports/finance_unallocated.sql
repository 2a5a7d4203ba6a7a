-- Finance pack: what the month's '(unallocated)' spend is made of, one line per currency and
-- resource, with who could fix it (an owner hint) and how (the open untagged_spend finding's
-- command when there is one). The owner hint is the allocation's own owner (an owner tag, or the
-- creator of a compute) or the finding's owner — a known owner — else the people with spend or
-- computes in the same workspace this month — a likely owner.
WITH unallocated AS (
    SELECT
        billing_currency,
        resource_id,
        workspace_id,
        aml_kind,
        aml_name,
        allocation_rule,
        max(owner) AS owner,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost
    FROM cost_allocation
    WHERE billing_month = $billing_month AND project = $unallocated
    GROUP BY billing_currency, resource_id, workspace_id, aml_kind, aml_name, allocation_rule
    HAVING sum(effective_cost) <> 0 OR sum(billed_cost) <> 0
),

fixes AS (
    SELECT
        resource_id,
        resource_name,
        owner,
        action,
        command,
        row_number() OVER (PARTITION BY resource_id ORDER BY finding_id) AS pick
    FROM findings
    WHERE billing_month = $billing_month AND status = 'open' AND rule_id = 'untagged_spend'
),

creators AS (
    SELECT
        lower(workspace_id) AS workspace_key,
        compute_name,
        max(created_by) AS created_by
    FROM inventory_computes
    GROUP BY lower(workspace_id), compute_name
),

workspace_people AS (
    SELECT
        lower(workspace_id) AS workspace_key,
        string_agg(DISTINCT person, ', ' ORDER BY person) AS people
    FROM (
        SELECT
            workspace_id,
            owner AS person
        FROM cost_allocation
        WHERE billing_month = $billing_month AND owner IS NOT NULL AND workspace_id IS NOT NULL
        UNION ALL
        SELECT
            workspace_id,
            created_by AS person
        FROM inventory_computes
        WHERE created_by IS NOT NULL AND workspace_id IS NOT NULL
    ) AS people
    GROUP BY lower(workspace_id)
),

matched AS (
    SELECT
        unallocated.*,
        fixes.owner AS finding_owner,
        fixes.action AS fix_action,
        fixes.command AS fix_command,
        row_number() OVER (
            PARTITION BY
                unallocated.billing_currency, unallocated.resource_id, unallocated.workspace_id,
                unallocated.aml_kind, unallocated.aml_name, unallocated.allocation_rule
            ORDER BY fixes.resource_name IS NOT DISTINCT FROM unallocated.aml_name DESC, fixes.resource_id
        ) AS pick
    FROM unallocated
    LEFT JOIN fixes
        ON fixes.pick = 1
            AND (
                fixes.resource_id = lower(unallocated.resource_id)
                OR (
                    unallocated.aml_name IS NOT NULL
                    AND unallocated.aml_kind IN ('compute', 'endpoint')
                    AND unallocated.aml_name = fixes.resource_name
                    AND starts_with(fixes.resource_id, lower(unallocated.workspace_id) || '/')
                )
            )
)

SELECT
    matched.billing_currency,
    coalesce(matched.aml_name, regexp_extract(matched.resource_id, '[^/]+$'), '(no resource id)') AS resource,
    matched.aml_kind,
    regexp_extract(matched.workspace_id, '[^/]+$') AS workspace,
    matched.resource_id,
    matched.allocation_rule AS reason,
    coalesce(matched.owner, matched.finding_owner, workspace_people.people) AS owner_hint,
    CASE
        WHEN matched.owner IS NOT NULL AND matched.owner = creators.created_by THEN 'creator of the compute'
        WHEN matched.owner IS NOT NULL THEN 'owner tag'
        WHEN matched.finding_owner IS NOT NULL THEN 'owner of the finding'
        WHEN workspace_people.people IS NOT NULL THEN 'active in the workspace'
        ELSE 'nobody known: ask the subscription owner'
    END AS owner_hint_source,
    CASE
        WHEN matched.owner IS NOT NULL OR matched.finding_owner IS NOT NULL THEN 'known'
        WHEN workspace_people.people IS NOT NULL THEN 'likely'
    END AS owner_hint_strength,
    matched.fix_action,
    matched.fix_command,
    CAST(matched.effective_cost AS DECIMAL(38, 10)) AS effective_cost,
    CAST(matched.billed_cost AS DECIMAL(38, 10)) AS billed_cost
FROM matched
LEFT JOIN workspace_people ON workspace_people.workspace_key = lower(matched.workspace_id)
LEFT JOIN creators
    ON matched.aml_kind = 'compute'
        AND creators.workspace_key = lower(matched.workspace_id)
        AND matched.aml_name = creators.compute_name
WHERE matched.pick = 1
ORDER BY matched.billing_currency ASC, matched.effective_cost DESC, resource ASC, matched.resource_id ASC
