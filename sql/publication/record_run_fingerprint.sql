-- Record (or replace) the fingerprint of a month just published.
INSERT OR REPLACE INTO main.run_fingerprints (billing_month, fingerprint, recorded_at)
VALUES ($month, $fingerprint, current_timestamp)
