-- Reservations and savings plans of one month, per currency: what was bought (billed cost of the
-- purchase rows), the usage each covered (effective cost and hours of its Used rows) and what went
-- unused (its Unused rows, allocated to the unused-commitment project), with the utilization in
-- hours. Read from cost_line_items, so the amounts are as delivered; currencies stay apart.
WITH commitment_rows AS (
    SELECT
        billing_currency,
        commitment_discount_id,
        commitment_discount_name,
        commitment_discount_type,
        lower(coalesce(commitment_discount_status, '')) AS status,
        lower(coalesce(charge_category, '')) AS category,
        coalesce(consumed_unit ILIKE '%hour%', FALSE) AS hourly,
        billed_cost,
        effective_cost,
        consumed_quantity
    FROM cost_line_items
    WHERE billing_month = $billing_month AND coalesce(commitment_discount_id, '') <> ''
),

per_commitment AS (
    SELECT
        billing_currency,
        commitment_discount_id,
        max(commitment_discount_name) AS commitment_discount_name,
        max(commitment_discount_type) AS commitment_discount_type,
        coalesce(sum(billed_cost) FILTER (WHERE category = 'purchase'), 0) AS purchased_billed_cost,
        coalesce(sum(effective_cost) FILTER (WHERE status = 'used'), 0) AS covered_effective_cost,
        coalesce(sum(consumed_quantity) FILTER (WHERE status = 'used' AND hourly), 0) AS covered_hours,
        coalesce(sum(effective_cost) FILTER (WHERE status = 'unused'), 0) AS unused_effective_cost,
        coalesce(sum(consumed_quantity) FILTER (WHERE status = 'unused' AND hourly), 0) AS unused_hours
    FROM commitment_rows
    GROUP BY billing_currency, commitment_discount_id
)

SELECT
    CAST($billing_month AS DATE) AS billing_month,
    billing_currency,
    commitment_discount_id,
    coalesce(commitment_discount_name, commitment_discount_id) AS commitment_discount_name,
    commitment_discount_type,
    CAST(purchased_billed_cost AS DECIMAL(38, 10)) AS purchased_billed_cost,
    CAST(covered_effective_cost AS DECIMAL(38, 10)) AS covered_effective_cost,
    CAST(covered_hours AS DECIMAL(38, 10)) AS covered_hours,
    CAST(unused_effective_cost AS DECIMAL(38, 10)) AS unused_effective_cost,
    CAST(unused_hours AS DECIMAL(38, 10)) AS unused_hours,
    CASE
        WHEN covered_hours + unused_hours = 0 THEN NULL
        ELSE CAST(round(covered_hours * 100 / (covered_hours + unused_hours), 2) AS DECIMAL(18, 2))
    END AS utilization_pct
FROM per_commitment
ORDER BY billing_currency, commitment_discount_name, commitment_discount_id
