-- A window's figures per product (METRICS.md section 4, "Line-level slices: --by product").
--
-- lines           (customer_id, currency, start_m, end_m, mrr_local, product): the checked lines,
--                 months as integers (year * 12 + month - 1)
-- window_rates    (currency, rate_s, rate_e): the rates that value month :s and month :e, as
--                 in ledger/window.sql
-- customer_state  (customer_id, s_s, e_e, is_return): every customer active at :s or :e, with
--                 its own MRR at the start and at the end and whether it came back inside the
--                 window as a reactivation (the book's window, nrr.metrics.window)
--
-- Returns window_totals.sql's columns with `product` in place of `segment`, one row for every
-- product with a line in service at :s or :e. The customer's own state decides the kind (in
-- the cohort or not, kept or gone, new or returning); its MRR in the product (MRR_v) decides
-- the amounts, so a product added by a customer who stays is expansion of that product and a
-- product dropped is contraction.
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT customer_id, product, currency, start_m, end_m, mrr_local
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
at_ends AS (
    SELECT
        customer_id,
        product,
        currency,
        mrr_local,
        start_m <= :s AND (end_m IS NULL OR end_m > :s) AS at_s,
        start_m <= :e AND (end_m IS NULL OR end_m > :e) AS at_e
    FROM live
),
valued AS (
    -- Each line at the rates it needs (exact: 8-decimal MRR times a 9-decimal rate).
    SELECT
        l.customer_id,
        l.product,
        l.at_s,
        l.at_e,
        CAST(CAST(l.mrr_local AS DECIMAL(20, 9)) * r.rate_s AS DECIMAL(38, 18)) AS at_rate_s,
        CAST(CAST(l.mrr_local AS DECIMAL(20, 9)) * r.rate_e AS DECIMAL(38, 18)) AS at_rate_e
    FROM at_ends AS l
    JOIN window_rates AS r ON r.currency = l.currency
    WHERE l.at_s OR l.at_e
),
per_product AS (
    -- MRR_v(s) at s's rates, MRR_v(e) at s's rates and MRR_v(e) at e's rates.
    SELECT
        customer_id,
        product,
        CAST(SUM(CASE WHEN at_s THEN at_rate_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS v_s_s,
        CAST(SUM(CASE WHEN at_e THEN at_rate_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS v_e_s,
        CAST(SUM(CASE WHEN at_e THEN at_rate_e ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS v_e_e
    FROM valued
    GROUP BY customer_id, product
),
stated AS (
    -- A line in service at :s or :e makes its customer active there, so every row has a state.
    SELECT
        p.product,
        p.v_s_s,
        p.v_e_s,
        p.v_e_e,
        c.s_s > 0 AS in_cohort,
        c.e_e > 0 AS kept,
        c.is_return
    FROM per_product AS p
    JOIN customer_state AS c ON c.customer_id = p.customer_id
)
SELECT
    product,
    CAST(SUM(CASE WHEN in_cohort THEN v_s_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS starting_mrr,
    CAST(SUM(CASE WHEN in_cohort THEN v_e_e ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS ending_mrr,
    CAST(SUM(CASE WHEN in_cohort THEN v_e_e - v_e_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS fx,
    CAST(SUM(
        CASE WHEN in_cohort AND kept AND v_e_s > v_s_s THEN v_e_s - v_s_s
        ELSE CAST(0 AS DECIMAL(38, 18)) END
    ) AS DECIMAL(38, 18)) AS expansion,
    CAST(SUM(
        CASE WHEN in_cohort AND kept AND v_s_s > v_e_s THEN v_s_s - v_e_s
        ELSE CAST(0 AS DECIMAL(38, 18)) END
    ) AS DECIMAL(38, 18)) AS contraction,
    -- A customer that left churns its whole MRR_v(s) in every product it held.
    CAST(SUM(CASE WHEN in_cohort AND NOT kept THEN v_s_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS churn,
    SUM(CASE WHEN in_cohort AND v_s_s > 0 THEN 1 ELSE 0 END) AS customers_start,
    SUM(CASE WHEN in_cohort AND v_s_s > 0 AND v_e_e > 0 THEN 1 ELSE 0 END) AS customers_retained,
    CAST(SUM(
        CASE WHEN NOT in_cohort AND kept AND NOT is_return THEN v_e_e
        ELSE CAST(0 AS DECIMAL(38, 18)) END
    ) AS DECIMAL(38, 18)) AS new_mrr,
    CAST(SUM(
        CASE WHEN NOT in_cohort AND kept AND is_return THEN v_e_e
        ELSE CAST(0 AS DECIMAL(38, 18)) END
    ) AS DECIMAL(38, 18)) AS reactivation_mrr
FROM stated
GROUP BY product
ORDER BY product ASC NULLS LAST
