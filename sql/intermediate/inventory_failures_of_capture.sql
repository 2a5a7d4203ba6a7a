-- The failed inventory calls of one capture (table inventory_failures, recorded by the inventory
-- asset): a workspace listed here keeps its open findings open instead of resolving them.
SELECT
    captured_at,
    subscription_id AS subscription,
    coalesce(workspace_name, workspace_id) AS workspace,
    call,
    reason
FROM inventory_failures
WHERE captured_at = $captured_at
ORDER BY workspace, call
