-- Public table (docs/tables.md): spend per project and month, with change and share.
CREATE TABLE IF NOT EXISTS project_spend_monthly (
    billing_month DATE NOT NULL,
    billing_currency VARCHAR NOT NULL,
    project VARCHAR NOT NULL,
    effective_cost DECIMAL(38, 10) NOT NULL,
    billed_cost DECIMAL(38, 10) NOT NULL,
    previous_effective_cost DECIMAL(38, 10),
    change_pct DECIMAL(18, 2),
    share_pct DECIMAL(18, 2)
)
