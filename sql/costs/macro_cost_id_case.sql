-- Repair detection: an id that is lowercased on the way in (ARM ids are case-insensitive; exports
-- mix casings).
CREATE OR REPLACE TEMP MACRO cost_id_case(x) AS coalesce(x <> lower(x), false)
