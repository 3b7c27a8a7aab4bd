-- Each customer valued at a window's two ends (METRICS.md section 4).
--
-- lines         (customer_id, currency, start_m, end_m, mrr_local): the checked lines, months
--               as integers (year * 12 + month - 1)
-- window_rates  (currency, rate_s, rate_e): the rates that value month :s and month :e
--               (rate_e is rate_s in constant currency)
--
-- Returns (customer_id, s_s, e_s, e_e, first_m) for every customer active at :s or
-- :e: MRR(s) at s's rates, MRR(e) at s's rates, MRR(e) at e's rates, and the first month the
-- customer had MRR. One pass over the lines: each line is valued at the rates it needs and
-- summed per customer (exact: 8-decimal MRR times a 9-decimal rate fits 18 decimals).
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT customer_id, currency, start_m, end_m, mrr_local
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
valued AS (
    SELECT
        l.customer_id,
        l.start_m,
        l.start_m <= :s AND (l.end_m IS NULL OR l.end_m > :s) AS at_s,
        l.start_m <= :e AND (l.end_m IS NULL OR l.end_m > :e) AS at_e,
        CAST(CAST(l.mrr_local AS DECIMAL(20, 9)) * r.rate_s AS DECIMAL(38, 18)) AS at_rate_s,
        CAST(CAST(l.mrr_local AS DECIMAL(20, 9)) * r.rate_e AS DECIMAL(38, 18)) AS at_rate_e
    FROM live AS l
    JOIN window_rates AS r ON r.currency = l.currency
),
per_customer AS (
    SELECT
        customer_id,
        CAST(SUM(CASE WHEN at_s THEN at_rate_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS s_s,
        CAST(SUM(CASE WHEN at_e THEN at_rate_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS e_s,
        CAST(SUM(CASE WHEN at_e THEN at_rate_e ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS e_e,
        MIN(start_m) AS first_m
    FROM valued
    GROUP BY customer_id
)
SELECT customer_id, s_s, e_s, e_e, first_m
FROM per_customer
WHERE s_s > 0 OR e_e > 0
