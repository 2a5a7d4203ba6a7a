-- Repair detection: an amount written in scientific notation (e.g. 1.2E+1, 0E-10).
CREATE OR REPLACE TEMP MACRO cost_scientific(x) AS coalesce(contains(x, 'E') OR contains(x, 'e'), FALSE)
