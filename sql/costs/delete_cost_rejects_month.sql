DELETE FROM staging.cost_rejects WHERE billing_month = $month
