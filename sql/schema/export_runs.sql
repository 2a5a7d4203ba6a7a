-- Public table (docs/tables.md): the Cost Management export runs behind each published month —
-- the one loaded per export, the ones it superseded and the ones skipped (still being delivered,
-- unreadable), with the reason. The finance pack's provenance reads it.
CREATE TABLE IF NOT EXISTS export_runs (
    billing_month  DATE NOT NULL,
    export_name    VARCHAR NOT NULL,
    export_folder  VARCHAR,
    run_id         VARCHAR,
    submitted_time TIMESTAMP,
    export_type    VARCHAR,
    data_version   VARCHAR,
    manifest       VARCHAR,
    status         VARCHAR NOT NULL,
    files          INTEGER NOT NULL,
    line_items     BIGINT,
    rejected_rows  BIGINT,
    note           VARCHAR
)
