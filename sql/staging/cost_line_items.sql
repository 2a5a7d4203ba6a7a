-- Load one group of export files into cost_line_items in a single pass over the files: every
-- data row, typed by the family's fragment (typed_cost_rows_focus / _ea, spliced into `typed`).
-- Rows that cannot be published go in too, in their place in read order, marked '!<reason>' in
-- `repairs` and with placeholders in NOT NULL columns: load_month numbers the CSV rows from that
-- order, moves the marked rows to cost_rejects and deletes them before its transaction commits,
-- so no reader ever sees one. `staged_table` is the month's staged table (month_tables.py): rows
-- are written once, publication renames the table. source_file is the path relative to the export root: $paths[i]
-- (what DuckDB read) maps to $relatives[i]. CSV rows carry no ordinal yet (source_row 0 until
-- staging/cost_line_items_source_rows); Parquet rows carry the reader's file_row_number.
INSERT INTO {{staged_table}}
WITH typed AS (
    {{typed}}
)

SELECT
    CAST($billing_month AS DATE) AS billing_month,
    coalesce(p_charge_period_start, CAST($billing_month AS TIMESTAMP)) AS charge_period_start,
    p_charge_period_end AS charge_period_end,
    coalesce(p_billed_cost, 0) AS billed_cost,
    coalesce(p_effective_cost, 0) AS effective_cost,
    p_list_cost AS list_cost,
    coalesce(p_billing_currency, '') AS billing_currency,
    p_charge_category AS charge_category,
    p_charge_class AS charge_class,
    p_resource_id AS resource_id,
    p_resource_name AS resource_name,
    p_resource_type AS resource_type,
    p_service_name AS service_name,
    p_sub_account_id AS sub_account_id,
    p_resource_group AS resource_group,
    p_region AS region,
    p_meter_category AS meter_category,
    p_charge_description AS charge_description,
    p_consumed_quantity AS consumed_quantity,
    p_consumed_unit AS consumed_unit,
    coalesce(p_tags, '{}') AS tags,
    p_additional_info AS additional_info,
    $source_schema AS source_schema,
    list_extract($relatives, list_position($paths, _source_path)) AS source_file,
    coalesce(_ordinal, 0) AS source_row,
    CASE WHEN p_reason IS NULL THEN p_repairs ELSE '!' || p_reason END AS repairs,
    p_sku_meter AS sku_meter,
    p_commitment_discount_id AS commitment_discount_id,
    p_commitment_discount_name AS commitment_discount_name,
    p_commitment_discount_type AS commitment_discount_type,
    p_commitment_discount_status AS commitment_discount_status,
    p_cost_allocation_rule_name AS cost_allocation_rule_name
FROM typed
