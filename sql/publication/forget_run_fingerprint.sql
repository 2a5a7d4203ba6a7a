-- Forget a month's fingerprint before it is rebuilt, so a failed rebuild is never skipped later.
DELETE FROM main.run_fingerprints WHERE billing_month = $month
