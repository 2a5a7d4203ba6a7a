-- A part's share of a whole in %, rounded half away from zero to 0.01; NULL when the whole is 0.
-- One rule for project_spend_monthly (month_project_spend) and the finance pack's shares.
CREATE OR REPLACE TEMP MACRO share_pct(part, whole) AS
CASE
    WHEN whole = 0 THEN NULL
    ELSE CAST(round(part * 100 / whole, 2) AS DECIMAL(18, 2))
END
