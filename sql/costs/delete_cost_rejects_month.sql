DELETE FROM cost_rejects WHERE billing_month = $month
