-- Per currency, the month's line items beside its allocations; a row with a nonzero difference
-- means money was lost or invented by attribution.
WITH line_items AS (
    SELECT
        billing_currency,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost,
        count(*) AS line_items
    FROM cost_line_items
    WHERE billing_month = $billing_month
    GROUP BY ALL
),

allocations AS (
    SELECT
        billing_currency,
        sum(effective_cost) AS effective_cost,
        sum(billed_cost) AS billed_cost
    FROM cost_allocation
    WHERE billing_month = $billing_month
    GROUP BY ALL
)

SELECT
    coalesce(line_items.billing_currency, allocations.billing_currency) AS billing_currency,
    coalesce(line_items.effective_cost, 0) AS line_item_effective_cost,
    coalesce(allocations.effective_cost, 0) AS allocated_effective_cost,
    coalesce(line_items.billed_cost, 0) AS line_item_billed_cost,
    coalesce(allocations.billed_cost, 0) AS allocated_billed_cost,
    coalesce(line_items.effective_cost, 0) - coalesce(allocations.effective_cost, 0) AS effective_difference,
    coalesce(line_items.billed_cost, 0) - coalesce(allocations.billed_cost, 0) AS billed_difference
FROM line_items
FULL OUTER JOIN allocations ON line_items.billing_currency = allocations.billing_currency
ORDER BY billing_currency
