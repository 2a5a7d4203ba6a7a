-- Job-level showback replaces a split cluster's allocation rows by their parts: the rows that
-- were the origin charges (job_cluster_origins) leave month_allocation.
DELETE FROM month_allocation
WHERE
    aml_kind = 'compute'
    AND EXISTS (
        SELECT 1
        FROM job_cluster_origins AS origins
        WHERE
            origins.workspace_id = month_allocation.workspace_id
            AND origins.aml_name = month_allocation.aml_name
            AND origins.billing_currency = month_allocation.billing_currency
    )
