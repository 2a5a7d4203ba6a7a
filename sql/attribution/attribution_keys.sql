-- The attribution keys of the month (month_key_totals without the per-currency totals): what the
-- Python resolver decides on.
SELECT DISTINCT
    key_id,
    resource_id,
    sub_account_id,
    resource_group,
    tags,
    meter_vm_size,
    charge_description
FROM month_key_totals
ORDER BY key_id
