-- Forget a month's fingerprint before it is rebuilt, so a failed rebuild is never skipped later.
DELETE FROM staging.run_fingerprints
WHERE billing_month = $billing_month
