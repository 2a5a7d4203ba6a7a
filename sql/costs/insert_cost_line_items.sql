-- Publish the staged rows that parsed. source_file is the path relative to the export root:
-- $paths[i] (what DuckDB read) maps to $relatives[i].
INSERT INTO cost_line_items
SELECT
    CAST($month AS DATE) AS billing_month,
    s.p_charge_period_start,
    s.p_charge_period_end,
    s.p_billed_cost,
    s.p_effective_cost,
    s.p_list_cost,
    s.p_billing_currency,
    s.p_charge_category,
    s.p_charge_class,
    s.p_resource_id,
    s.p_resource_name,
    s.p_resource_type,
    s.p_service_name,
    s.p_sub_account_id,
    s.p_resource_group,
    s.p_region,
    s.p_meter_category,
    s.p_charge_description,
    s.p_consumed_quantity,
    s.p_consumed_unit,
    s.p_tags,
    s.p_additional_info,
    $source_schema AS source_schema,
    list_extract($relatives, list_position($paths, s._source_path)) AS source_file,
    coalesce(s._ordinal, s.rowid + 1) - f.first_ordinal + 1 AS source_row,
    s.p_repairs AS repairs
FROM cost_stage AS s
JOIN cost_stage_files AS f USING (_source_path)
WHERE s.p_reason IS NULL
