-- The published cost rows (DESIGN §7): one row per export data row that parsed, FOCUS-named.
-- Money is DECIMAL(38,10), never float. Replaced per billing_month by load_month.
CREATE TABLE IF NOT EXISTS cost_line_items (
    billing_month       DATE NOT NULL,
    charge_period_start TIMESTAMP NOT NULL,
    charge_period_end   TIMESTAMP,
    billed_cost         DECIMAL(38, 10) NOT NULL,
    effective_cost      DECIMAL(38, 10) NOT NULL,
    list_cost           DECIMAL(38, 10),
    billing_currency    VARCHAR NOT NULL,
    charge_category     VARCHAR,
    charge_class        VARCHAR,
    resource_id         VARCHAR,
    resource_name       VARCHAR,
    resource_type       VARCHAR,
    service_name        VARCHAR,
    sub_account_id      VARCHAR,
    resource_group      VARCHAR,
    region              VARCHAR,
    meter_category      VARCHAR,
    charge_description  VARCHAR,
    consumed_quantity   DECIMAL(38, 10),
    consumed_unit       VARCHAR,
    tags                VARCHAR NOT NULL,
    additional_info     VARCHAR,
    source_schema       VARCHAR NOT NULL,
    source_file         VARCHAR NOT NULL,
    source_row          BIGINT NOT NULL,
    -- version 1.1: the repairs applied to the row, comma-separated codes ('' when none).
    repairs             VARCHAR NOT NULL DEFAULT '',
    -- version 1.2: the meter name, the commitment discount (reservation / savings plan) the row
    -- belongs to and its status (Used, Unused; null for a purchase or an on-demand row), and the
    -- Cost Management allocation rule that moved the row, all as delivered.
    sku_meter                  VARCHAR,
    commitment_discount_id     VARCHAR,
    commitment_discount_name   VARCHAR,
    commitment_discount_type   VARCHAR,
    commitment_discount_status VARCHAR,
    cost_allocation_rule_name  VARCHAR
)
