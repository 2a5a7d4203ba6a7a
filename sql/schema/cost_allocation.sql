-- Public table (docs/tables.md): every cent of cost_line_items, allocated with its reason.
CREATE TABLE IF NOT EXISTS cost_allocation (
    billing_month DATE NOT NULL,
    billing_currency VARCHAR NOT NULL,
    resource_id VARCHAR,
    workspace_id VARCHAR,
    aml_kind VARCHAR NOT NULL,
    aml_name VARCHAR,
    project VARCHAR NOT NULL,
    owner VARCHAR,
    cost_center VARCHAR,
    allocation_method VARCHAR NOT NULL,
    allocation_rule VARCHAR NOT NULL,
    effective_cost DECIMAL(38, 10) NOT NULL,
    billed_cost DECIMAL(38, 10) NOT NULL
)
