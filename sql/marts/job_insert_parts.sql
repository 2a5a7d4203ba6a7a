-- The parts of the split clusters' cost (job_split_parts, registered from attribution/jobs.py,
-- with month_allocation's columns and types): one row per origin charge and destination
-- project, method job_split or cluster_idle.
INSERT INTO month_allocation BY NAME
SELECT
    CAST($billing_month AS DATE) AS billing_month,
    *
FROM job_split_parts
