-- Internal table: cost and billed hours per Azure ML resource and month, the basis of savings.
-- usage_hours are running hours; running_cost is what a stop ends (not disks, load balancers,
-- public IPs); committed_cost / committed_hours were covered by a reservation or savings plan.
CREATE TABLE IF NOT EXISTS aml_resource_usage (
    billing_month DATE NOT NULL,
    billing_currency VARCHAR NOT NULL,
    workspace_id VARCHAR,
    aml_kind VARCHAR NOT NULL,
    aml_name VARCHAR,
    effective_cost DECIMAL(38, 10) NOT NULL,
    usage_hours DECIMAL(38, 10) NOT NULL,
    running_cost DECIMAL(38, 10) NOT NULL DEFAULT 0,
    committed_cost DECIMAL(38, 10) NOT NULL DEFAULT 0,
    committed_hours DECIMAL(38, 10) NOT NULL DEFAULT 0
)
