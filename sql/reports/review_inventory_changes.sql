-- Finance report, "changes since the last review": the month's inventory drift (inventory_changes).
SELECT
    captured_before,
    captured_after,
    resource_kind,
    workspace,
    resource_name,
    change,
    field,
    before,
    after
FROM inventory_changes
WHERE billing_month = $billing_month
ORDER BY captured_after, resource_kind, workspace, resource_name, change, field
