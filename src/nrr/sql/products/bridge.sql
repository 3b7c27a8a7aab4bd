-- The monthly MRR bridge per product, for months :first to :last (METRICS.md section 4,
-- "Line-level slices: --by product").
--
-- lines           (customer_id, currency, start_m, end_m, mrr_local, product): the checked
--                 lines, months as integers (year * 12 + month - 1)
-- bridge_rates    (currency, month, rate, opening_rate) for months :first - 1 to :last, as in
--                 metrics/bridge.sql
-- calendar        (month): the months :first - 1 to :last
-- customer_kinds  (customer_id, month, kind): the customer's own change in each month from
--                 :first to :last its lines change (customer_kinds.sql): new, reactivation,
--                 churn or both
--
-- Returns bridge.sql's columns with `product` in place of `segment`, for every product with a
-- line in service in a month from :first - 1 to :last, and every month from :first to :last.
-- The customer's own change decides the kind; its change in the product, valued at the opening
-- month's rates (constant currency), decides the amount: new and reactivation are that change,
-- churn its opposite, and a customer active in both months has the positive part as expansion
-- and the negative part as contraction. Balances and active customers are the product's own.
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT customer_id, product, currency, start_m, end_m, mrr_local
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
events AS (
    SELECT customer_id, product, currency, start_m AS month, mrr_local AS delta, 1 AS lines
    FROM live
    UNION ALL
    SELECT customer_id, product, currency, end_m AS month, -mrr_local AS delta, -1 AS lines
    FROM live
    WHERE end_m IS NOT NULL
),
changes AS (
    -- Each customer's change in a product in the bridge's months, at the opening month's rates.
    SELECT
        e.customer_id,
        e.product,
        e.month,
        CAST(SUM(CAST(e.delta AS DECIMAL(20, 9)) * r.opening_rate) AS DECIMAL(38, 18)) AS change
    FROM events AS e
    JOIN bridge_rates AS r ON r.currency = e.currency AND r.month = e.month
    WHERE e.month >= :first AND e.month <= :last
    GROUP BY e.customer_id, e.product, e.month
),
movements AS (
    -- A change in a product is a change of the customer's lines, so the customer has a kind
    -- that month.
    SELECT
        c.product,
        c.month,
        CAST(SUM(
            CASE WHEN k.kind = 'new' THEN c.change ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS new,
        CAST(SUM(
            CASE WHEN k.kind = 'reactivation' THEN c.change ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS reactivation,
        CAST(SUM(
            CASE WHEN k.kind = 'both' AND c.change > 0 THEN c.change
            ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS expansion,
        CAST(SUM(
            CASE WHEN k.kind = 'both' AND c.change < 0 THEN -c.change
            ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS contraction,
        CAST(SUM(
            CASE WHEN k.kind = 'churn' THEN -c.change ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS churn
    FROM changes AS c
    JOIN customer_kinds AS k ON k.customer_id = c.customer_id AND k.month = c.month
    GROUP BY c.product, c.month
),
balances AS (
    -- Local MRR per product and currency after each month it changes: running sums of the
    -- changes, read at every month of the calendar.
    SELECT c.month, t.product, t.currency, CAST(SUM(t.delta) AS DECIMAL(38, 8)) AS local_mrr
    FROM (
        SELECT product, currency, month, SUM(delta) AS delta
        FROM events
        GROUP BY product, currency, month
    ) AS t
    JOIN calendar AS c ON t.month <= c.month
    GROUP BY c.month, t.product, t.currency
),
levels AS (
    -- Closing MRR at the month's rates and at the previous month's, converted as bridge.sql's
    -- levels are: the rate's whole part and the rest separately, so each product fits 38
    -- digits (METRICS.md: monthly totals below 10^15, rates below 10^8).
    SELECT
        b.product,
        b.month,
        CAST(SUM(
            CAST(CAST(b.local_mrr AS DECIMAL(24, 9)) * CAST(r.rate AS DECIMAL(9, 0))
                AS DECIMAL(38, 18))
            + CAST(CAST(b.local_mrr AS DECIMAL(24, 9))
                * CAST(r.rate - CAST(r.rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9))
                AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS closing,
        CAST(SUM(
            CAST(CAST(b.local_mrr AS DECIMAL(24, 9)) * CAST(r.opening_rate AS DECIMAL(9, 0))
                AS DECIMAL(38, 18))
            + CAST(CAST(b.local_mrr AS DECIMAL(24, 9))
                * CAST(r.opening_rate - CAST(r.opening_rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9))
                AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS closing_open
    FROM balances AS b
    JOIN bridge_rates AS r ON r.currency = b.currency AND r.month = b.month
    GROUP BY b.product, b.month
),
product_steps AS (
    -- A customer's lines of a product in service before and after each month they change.
    SELECT
        product,
        month,
        SUM(line_change) OVER (
            PARTITION BY customer_id, product ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) - line_change AS before,
        SUM(line_change) OVER (
            PARTITION BY customer_id, product ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS after
    FROM (
        SELECT customer_id, product, month, SUM(lines) AS line_change
        FROM events
        GROUP BY customer_id, product, month
    ) AS t
),
arrivals AS (
    -- +1 in the month a customer starts paying for a product, -1 in the month it stops.
    SELECT
        product,
        month,
        SUM(
            CASE WHEN after > 0 THEN 1 ELSE 0 END - CASE WHEN before > 0 THEN 1 ELSE 0 END
        ) AS change
    FROM product_steps
    GROUP BY product, month
),
active AS (
    SELECT a.product, c.month, SUM(a.change) AS active_customers
    FROM arrivals AS a
    JOIN calendar AS c ON a.month <= c.month
    GROUP BY a.product, c.month
),
products AS (
    -- Every product with a line in service in a month from :first - 1 to :last.
    SELECT DISTINCT product
    FROM live
    WHERE start_m <= :last AND (end_m IS NULL OR end_m > :first - 1)
)
SELECT
    p.product,
    c.month,
    COALESCE(o.closing, CAST(0 AS DECIMAL(38, 18))) AS starting_mrr,
    COALESCE(l.closing, CAST(0 AS DECIMAL(38, 18)))
        - COALESCE(l.closing_open, CAST(0 AS DECIMAL(38, 18))) AS fx,
    COALESCE(m.new, CAST(0 AS DECIMAL(38, 18))) AS new,
    COALESCE(m.reactivation, CAST(0 AS DECIMAL(38, 18))) AS reactivation,
    COALESCE(m.expansion, CAST(0 AS DECIMAL(38, 18))) AS expansion,
    COALESCE(m.contraction, CAST(0 AS DECIMAL(38, 18))) AS contraction,
    COALESCE(m.churn, CAST(0 AS DECIMAL(38, 18))) AS churn,
    COALESCE(l.closing, CAST(0 AS DECIMAL(38, 18))) AS ending_mrr,
    COALESCE(a.active_customers, 0) AS active_customers
FROM products AS p
CROSS JOIN calendar AS c
LEFT JOIN levels AS l ON l.product = p.product AND l.month = c.month
LEFT JOIN levels AS o ON o.product = p.product AND o.month = c.month - 1
LEFT JOIN movements AS m ON m.product = p.product AND m.month = c.month
LEFT JOIN active AS a ON a.product = p.product AND a.month = c.month
WHERE c.month >= :first
ORDER BY p.product ASC NULLS LAST, c.month ASC NULLS LAST
