-- Internal table: cost and billed hours per Azure ML resource and month, the basis of savings.
CREATE TABLE IF NOT EXISTS aml_resource_usage (
    billing_month DATE NOT NULL,
    billing_currency VARCHAR NOT NULL,
    workspace_id VARCHAR,
    aml_kind VARCHAR NOT NULL,
    aml_name VARCHAR,
    effective_cost DECIMAL(38, 10) NOT NULL,
    usage_hours DECIMAL(38, 10) NOT NULL
)
