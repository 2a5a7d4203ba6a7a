-- The fingerprint of the inputs each published month was built from (dagster_project/
-- fingerprint.py): a re-run whose inputs have the same fingerprint skips the month.
CREATE TABLE IF NOT EXISTS staging.run_fingerprints (
    billing_month DATE NOT NULL PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)
