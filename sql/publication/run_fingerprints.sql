-- The recorded fingerprint of every published month.
SELECT
    billing_month,
    fingerprint,
    recorded_at
FROM staging.run_fingerprints
ORDER BY billing_month
