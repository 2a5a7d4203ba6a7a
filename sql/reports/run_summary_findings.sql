-- Open findings of the latest month and their estimated monthly savings.
SELECT
    count(*) AS open_findings,
    sum(savings) AS savings
FROM findings
WHERE billing_month = $billing_month AND status = 'open'
