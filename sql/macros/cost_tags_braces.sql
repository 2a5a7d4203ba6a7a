-- Repair detection: tags written without their enclosing braces (EA writes `"a": "b"`), which
-- cost_tags adds back; blank tags are not a repair.
CREATE OR REPLACE TEMP MACRO cost_tags_braces(x) AS
NOT starts_with(x, '{') AND NOT starts_with(ltrim(x), '{') AND trim(x) <> ''
