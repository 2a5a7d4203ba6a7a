-- Record (or replace) the fingerprint of a month just published.
INSERT OR REPLACE INTO staging.run_fingerprints (billing_month, fingerprint, recorded_at)
VALUES ($billing_month, $fingerprint, current_timestamp)
