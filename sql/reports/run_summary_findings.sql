-- Open findings of the latest month and their estimated monthly savings, per currency; each
-- resource counts once, at its largest savings (macros/counted_findings).
SELECT
    currency AS billing_currency,
    CAST(count(*) AS BIGINT) AS open_findings,
    CAST(sum(CASE WHEN counted THEN savings ELSE 0 END) AS DECIMAL(38, 10)) AS savings
FROM counted_findings($billing_month, $unallocated)
GROUP BY currency
ORDER BY currency ASC
