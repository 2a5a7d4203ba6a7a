-- The month-over-month change in % of the previous amount's absolute value, rounded half away
-- from zero to 0.01; NULL without a previous amount (or a zero one). One rule for
-- project_spend_monthly (month_project_spend), its refresh on publication and the finance summary.
CREATE OR REPLACE TEMP MACRO change_pct(current_amount, previous_amount) AS
CASE
    WHEN previous_amount IS NULL OR previous_amount = 0 THEN NULL
    ELSE CAST(round((current_amount - previous_amount) * 100 / abs(previous_amount), 2) AS DECIMAL(18, 2))
END
