-- Repair detection's cheap test for one amount: true when cost_scientific or cost_long_decimal
-- could be true (an 'E' or 'e', or more than 10 bytes after the first '.' or in all); NULL for a
-- missing amount. A superset of both checks, costing two byte scans and a length: the typed-rows
-- fragments run the exact checks only for rows where some such test is true.
CREATE OR REPLACE TEMP MACRO cost_amount_suspect(x) AS
contains(x, 'E') OR contains(x, 'e') OR strlen(x) - strpos(x, '.') > 10
