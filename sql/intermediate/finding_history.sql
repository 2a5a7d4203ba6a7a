-- The last known state of every finding ever published in this output folder (any month), with
-- the first time it was ever seen: what a new evaluation is compared against.
WITH ranked AS (
    SELECT
        *,
        min(first_seen) OVER (PARTITION BY finding_id) AS first_seen_ever,
        row_number() OVER (
            PARTITION BY finding_id
            ORDER BY last_seen DESC, billing_month DESC, status ASC
        ) AS recency
    FROM findings
)

SELECT * EXCLUDE (recency)
FROM ranked
WHERE recency = 1
