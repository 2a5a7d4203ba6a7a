-- The line items with the kind of cost row each one is: `kind`, the 16 texts attribution keys a
-- row on (resource, tags, detail JSON, meter, commitment, currency, unit), and `raw_key`, their
-- 64-bit hash. The one home of that list: month_keys numbers the distinct kinds, month_key_days
-- sums the rows per kind and day, both reading this view with their own month filter.
CREATE OR REPLACE TEMP VIEW cost_row_kinds AS
WITH kinds AS (
    SELECT
        struct_pack(
            resource_id,
            sub_account_id,
            resource_group,
            tags,
            additional_info,
            charge_description,
            meter_category,
            sku_meter,
            charge_category,
            commitment_discount_id,
            commitment_discount_name,
            commitment_discount_type,
            commitment_discount_status,
            cost_allocation_rule_name,
            billing_currency,
            consumed_unit
        ) AS kind,
        billing_month,
        charge_period_start,
        effective_cost,
        billed_cost,
        consumed_quantity
    FROM cost_line_items
)

SELECT
    hash(kind) AS raw_key,
    *
FROM kinds
