-- Drop the rows of billing month $month marked for rejection once cost_rejects holds them.
DELETE FROM staging.cost_line_items WHERE billing_month = $month AND starts_with(repairs, '!')
