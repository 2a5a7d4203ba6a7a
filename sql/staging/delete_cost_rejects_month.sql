DELETE FROM staging.cost_rejects
WHERE billing_month = $billing_month
