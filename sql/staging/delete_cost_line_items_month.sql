DELETE FROM staging.cost_line_items
WHERE billing_month = $billing_month
