DELETE FROM cost_line_items WHERE billing_month = $month
