-- A window's figures per slice (METRICS.md section 4) from each customer's values.
--
-- customers_valued  (customer_id, segment, s_s, e_s, e_e, is_return): window.sql's rows, with
--                   whether a customer outside the cohort came back as a reactivation
--
-- The cohort is the customers with MRR at the start (s_s > 0). Movements compare MRR(s) and
-- MRR(e) at s's rates; fx is the closing position revalued (e_e - e_s).
SELECT
    segment,
    CAST(SUM(CASE WHEN s_s > 0 THEN s_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS starting_mrr,
    CAST(SUM(CASE WHEN s_s > 0 THEN e_e ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS ending_mrr,
    CAST(SUM(CASE WHEN s_s > 0 THEN e_e - e_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS fx,
    CAST(SUM(CASE WHEN s_s > 0 AND e_s > s_s THEN e_s - s_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS expansion,
    CAST(SUM(
        CASE WHEN s_s > 0 AND e_e > 0 AND s_s > e_s THEN s_s - e_s
        ELSE CAST(0 AS DECIMAL(38, 18)) END
    ) AS DECIMAL(38, 18)) AS contraction,
    CAST(SUM(CASE WHEN s_s > 0 AND e_e = 0 THEN s_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS churn,
    SUM(CASE WHEN s_s > 0 THEN 1 ELSE 0 END) AS customers_start,
    SUM(CASE WHEN s_s > 0 AND e_e > 0 THEN 1 ELSE 0 END) AS customers_retained,
    CAST(SUM(
        CASE WHEN s_s = 0 AND e_e > 0 AND NOT is_return THEN e_e
        ELSE CAST(0 AS DECIMAL(38, 18)) END
    ) AS DECIMAL(38, 18)) AS new_mrr,
    CAST(SUM(
        CASE WHEN s_s = 0 AND e_e > 0 AND is_return THEN e_e
        ELSE CAST(0 AS DECIMAL(38, 18)) END
    ) AS DECIMAL(38, 18)) AS reactivation_mrr
FROM customers_valued
GROUP BY segment
