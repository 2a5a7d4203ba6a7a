-- Public table (docs/tables.md): cleanup findings of each month, with savings and the command.
CREATE TABLE IF NOT EXISTS findings (
    billing_month DATE NOT NULL,
    finding_id VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    workspace VARCHAR,
    resource_id VARCHAR NOT NULL,
    resource_name VARCHAR,
    project VARCHAR,
    owner VARCHAR,
    evidence JSON,
    savings DECIMAL(38, 10) NOT NULL,
    currency VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    command VARCHAR NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    status VARCHAR NOT NULL,
    suppression_reason VARCHAR
)
