-- The month's cost_allocation_focus rows (staged as month_cost_allocation_focus) from the split
-- computed in attribution/jobs.py (focus_frame, registered).
CREATE OR REPLACE TEMP TABLE month_cost_allocation_focus AS
SELECT
    CAST($billing_month AS DATE) AS billing_month,
    *
FROM focus_frame
ORDER BY x_OriginChargeId, x_AllocationMethod, AllocatedResourceId
