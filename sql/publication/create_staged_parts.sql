-- What is staged for publication (dagster_project/warehouse.py): one row per staged part — a
-- monthly table's rows of billing_month, a whole inventory table (billing_month NULL), or the
-- month's packs (table_name 'reports', with the staged folder).
CREATE TABLE IF NOT EXISTS staging.staged_parts (
    billing_month DATE,
    table_name VARCHAR NOT NULL,
    folder VARCHAR,
    staged_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)
