-- Drop the rows of billing month $billing_month marked for rejection once cost_rejects holds them.
DELETE FROM staging.cost_line_items
WHERE billing_month = $billing_month AND starts_with(repairs, '!')
