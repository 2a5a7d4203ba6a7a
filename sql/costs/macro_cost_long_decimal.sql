-- Repair detection: a plain amount with more than 10 fraction digits (EA writes up to 28), which
-- DECIMAL(38,10) rounds half away from zero.
CREATE OR REPLACE TEMP MACRO cost_long_decimal(x) AS
    coalesce(strpos(x, '.') > 0 AND length(rtrim(x)) - strpos(x, '.') > 10 AND NOT cost_scientific(x), false)
