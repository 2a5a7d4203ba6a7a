-- The attribution keys of the month (month_key_totals without the per-currency totals): what the
-- Python resolver decides on.
SELECT DISTINCT
    key_id,
    resource_id,
    sub_account_id,
    resource_group,
    tags,
    meter_vm_size,
    details_size_key,
    aml_resource_type,
    charge_description,
    sku_meter,
    after_stop,
    charge_category,
    commitment_discount_id,
    commitment_discount_name,
    commitment_discount_type,
    commitment_discount_status,
    cost_allocation_rule_name
FROM month_key_totals
ORDER BY key_id
