-- Each product of each customer that expanded or contracted over a window :s -> :e, valued as
-- the window values its movements (docs/causes-and-owners.md).
--
-- lines             (customer_id, currency, start_m, end_m, mrr_local, product, quantity): the
--                   checked lines, months as integers (year * 12 + month - 1)
-- window_rates      (currency, rate_s, rate_e): as in window.sql; only s's rates are read, since
--                   movements are in constant currency at s's rates in either fx mode
-- customers_valued  (customer_id, segment, s_s, e_s, e_e): window.sql's rows, each customer
--                   with its slice
--
-- Returns (customer_id, product, segment, movement, prev, cur, q_prev, q_cur, delta,
-- exact_seats) for every product the customer held at :s or at :e: its MRR (prev, cur) and
-- summed quantity (q_prev, q_cur) there, cur - prev, and whether splitting the change into
-- seats and price needs a division (done exactly outside SQL, where every engine agrees).
WITH movers AS (
    -- In the cohort, still active at :e and changed: exactly the customers with expansion or
    -- contraction.
    SELECT
        customer_id,
        segment,
        CASE WHEN e_s > s_s THEN 'expansion' ELSE 'contraction' END AS movement
    FROM customers_valued
    WHERE s_s > 0 AND e_e > 0 AND e_s <> s_s
),
valued AS (
    -- The movers' live lines in service at :s or :e, each valued at s's rates (exact, as in
    -- window.sql: summing per line equals converting per-currency sums).
    SELECT
        m.customer_id,
        m.segment,
        m.movement,
        l.product,
        l.quantity,
        l.start_m <= :s AND (l.end_m IS NULL OR l.end_m > :s) AS at_s,
        l.start_m <= :e AND (l.end_m IS NULL OR l.end_m > :e) AS at_e,
        CAST(CAST(l.mrr_local AS DECIMAL(20, 9)) * r.rate_s AS DECIMAL(38, 18)) AS at_rate_s
    FROM lines AS l
    JOIN movers AS m ON m.customer_id = l.customer_id
    JOIN window_rates AS r ON r.currency = l.currency
    WHERE
        l.mrr_local > 0
        AND (l.end_m IS NULL OR l.end_m > l.start_m)
        AND (
            (l.start_m <= :s AND (l.end_m IS NULL OR l.end_m > :s))
            OR (l.start_m <= :e AND (l.end_m IS NULL OR l.end_m > :e))
        )
),
per_product AS (
    SELECT
        customer_id,
        product,
        segment,
        movement,
        CAST(SUM(CASE WHEN at_s THEN at_rate_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS prev,
        CAST(SUM(CASE WHEN at_e THEN at_rate_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS cur,
        CAST(SUM(CASE WHEN at_s THEN quantity ELSE CAST(0 AS DECIMAL(38, 10)) END)
            AS DECIMAL(38, 10)) AS q_prev,
        CAST(SUM(CASE WHEN at_e THEN quantity ELSE CAST(0 AS DECIMAL(38, 10)) END)
            AS DECIMAL(38, 10)) AS q_cur
    FROM valued
    GROUP BY customer_id, product, segment, movement
)
SELECT
    customer_id,
    product,
    segment,
    movement,
    prev,
    cur,
    q_prev,
    q_cur,
    CAST(cur - prev AS DECIMAL(38, 18)) AS delta,
    -- Held at both ends with a changed, nonzero starting quantity: seats and price both move.
    -- Every other product held at both ends is all price.
    prev > 0 AND cur > 0 AND q_prev > 0 AND q_prev <> q_cur AS exact_seats
FROM per_product
