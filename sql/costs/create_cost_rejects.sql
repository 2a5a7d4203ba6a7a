-- Export rows that could not be parsed: never silently dropped. `raw` is the row as JSON text
-- (column name -> the text read from the file). billing_month is the partition the row was
-- loaded for, so that re-loading a month replaces its rejects too.
CREATE TABLE IF NOT EXISTS cost_rejects (
    source_file   VARCHAR NOT NULL,
    source_row    BIGINT NOT NULL,
    reason        VARCHAR NOT NULL,
    raw           VARCHAR,
    billing_month DATE NOT NULL
)
