-- An exact amount: DECIMAL(38,10) straight from the text (plain or scientific notation, e.g.
-- 0E-10; surrounding blanks allowed), rounded half away from zero past 10 places. NULL when it
-- does not parse.
CREATE OR REPLACE TEMP MACRO cost_decimal(x) AS TRY_CAST(x AS DECIMAL(38, 10))
