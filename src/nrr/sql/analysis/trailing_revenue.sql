-- The trailing-revenue method (docs/analysis.md): revenue of two runs of months, prior and
-- recent, from :first to :last, from the customers active in :cohort_month (the month before).
--
-- lines    (customer_id, currency, start_m, end_m, mrr_local): the checked lines
-- weights  (currency, t, w_prior, w_recent) for t from :first to :last: the sums of the
--          currency's rates over the prior months from t on, and over the recent months
--
-- Returns one row: customers (the cohort), prior and recent (base currency).
--
-- A month's revenue is its month-end MRR at its own rates, and a customer's MRR in a month is
-- the sum of its lines' changes up to that month, so a change at month t adds its amount times
-- each later month's rate: one product with the weights per change, whatever the number of
-- months (8-decimal MRR times 9-decimal weights: exact in 18 decimals).
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT customer_id, currency, start_m, end_m, mrr_local
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
cohort AS (
    SELECT DISTINCT customer_id
    FROM live
    WHERE start_m <= :cohort_month AND (end_m IS NULL OR end_m > :cohort_month)
),
events AS (
    SELECT customer_id, currency, start_m AS month, mrr_local AS delta
    FROM live
    UNION ALL
    SELECT customer_id, currency, end_m AS month, -mrr_local AS delta
    FROM live
    WHERE end_m IS NOT NULL
),
placed AS (
    -- A change before the first month counts in every month of both periods, as at :first.
    SELECT
        e.currency,
        CASE WHEN e.month < :first THEN CAST(:first AS BIGINT) ELSE e.month END AS t,
        e.delta
    FROM events AS e
    JOIN cohort AS c ON c.customer_id = e.customer_id
    WHERE e.month <= :last
),
revenue AS (
    SELECT
        CAST(SUM(CAST(CAST(p.delta AS DECIMAL(20, 9)) * w.w_prior AS DECIMAL(38, 18)))
            AS DECIMAL(38, 18)) AS prior,
        CAST(SUM(CAST(CAST(p.delta AS DECIMAL(20, 9)) * w.w_recent AS DECIMAL(38, 18)))
            AS DECIMAL(38, 18)) AS recent
    FROM placed AS p
    JOIN weights AS w ON w.currency = p.currency AND w.t = p.t
)
SELECT c.customers, r.prior, r.recent
FROM (SELECT COUNT(*) AS customers FROM cohort) AS c
CROSS JOIN revenue AS r
