-- Each customer's movements in every month from :first to :last in which its MRR changes: the
-- per-customer rows behind the monthly bridge (METRICS.md section 3).
--
-- lines         (customer_id, currency, start_m, end_m, mrr_local): the checked lines, months
--               as integers (year * 12 + month - 1)
-- bridge_rates  (currency, month, rate, opening_rate) for months :first - 1 to :last: the
--               rates a month's movements are valued at (opening_rate, the previous month's)
-- starts        starts_any_gap or starts_within_gap: whether a start is a return, by the
--               rule of metrics/bridge.sql, whose two steps of that name are appended to
--               this statement's own (`render.borrow`) and read these steps
--
-- Returns (customer_id, month, prev, cur, new, reactivation, expansion, contraction, churn):
-- prev and cur are the customer's MRR just before and after the month's change, both at the
-- opening month's rates (constant currency, so no movement is an exchange-rate effect), in
-- all its currencies, not only the one that moved. Exactly one movement is non-zero, or none
-- when the change nets to zero in the base currency. A month in which no currency of the
-- customer changes has no row. Not ordered: it is read as a part of larger statements.
--
-- A line changes its customer's MRR at two month boundaries only, so everything is computed
-- from those changes, never from one row per line per month. Unlike the bridge, which needs
-- only the sum of each month's changes, prev and cur need the customer's whole MRR at the
-- opening month's rates, so each currency's balance is carried forward: a running sum of
-- local MRR per customer and currency, on every month any of the customer's currencies
-- changes. A customer's MRR changes only in a month one of its lines starts or ends, so that
-- carrying forward is done only for the customers with such a month from :first to :last.
WITH all_live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT customer_id, currency, start_m, end_m, mrr_local
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
moving AS (
    -- The customers that can have a row in the months asked for.
    SELECT DISTINCT customer_id
    FROM all_live
    WHERE (start_m >= :first AND start_m <= :last) OR (end_m >= :first AND end_m <= :last)
),
live AS (
    -- Their lines, all of them: balances and returns read every earlier month.
    SELECT l.customer_id, l.currency, l.start_m, l.end_m, l.mrr_local
    FROM all_live AS l
    JOIN moving AS c ON c.customer_id = l.customer_id
),
events AS (
    SELECT customer_id, currency, start_m AS month, mrr_local AS delta
    FROM live
    UNION ALL
    SELECT customer_id, currency, end_m AS month, -mrr_local AS delta
    FROM live
    WHERE end_m IS NOT NULL
),
changes AS (
    -- The net change of local MRR per customer, currency and month; one that nets to zero
    -- (a line replaced by another of the same MRR) is no change.
    SELECT customer_id, currency, month, CAST(SUM(delta) AS DECIMAL(38, 8)) AS delta
    FROM events
    GROUP BY customer_id, currency, month
    HAVING SUM(delta) <> 0
),
billed AS (
    -- Whether the customer was ever billed in more than one currency, from its lines: each
    -- currency it has lines in has a change (in the first month one starts only lines start),
    -- so this is the same as over its changes, and a grouping is cheaper than a window.
    SELECT customer_id, MIN(currency) <> MAX(currency) AS several
    FROM live
    GROUP BY customer_id
),
kinds AS (
    SELECT c.customer_id, c.currency, c.month, c.delta, b.several
    FROM changes AS c
    JOIN billed AS b ON b.customer_id = c.customer_id
),
grid AS (
    -- A customer billed in one currency has its changes as its steps already. One billed in
    -- several gets a row for each of its currencies at each month any of them changes, so
    -- that its MRR in the currencies that did not move is counted too.
    SELECT customer_id, currency, month, delta, several
    FROM kinds
    WHERE NOT several
    UNION ALL
    SELECT
        m.customer_id,
        c.currency,
        m.month,
        COALESCE(k.delta, CAST(0 AS DECIMAL(38, 8))) AS delta,
        TRUE AS several
    FROM (SELECT DISTINCT customer_id, month FROM kinds WHERE several) AS m
    JOIN (SELECT DISTINCT customer_id, currency FROM kinds WHERE several) AS c
        ON c.customer_id = m.customer_id
    LEFT JOIN kinds AS k
        ON k.customer_id = m.customer_id AND k.currency = c.currency AND k.month = m.month
),
balances AS (
    -- Local MRR per customer and currency just before and just after each step (two running
    -- sums rather than a difference, which Spark would compute at one decimal less).
    SELECT
        customer_id,
        currency,
        month,
        several,
        COALESCE(
            SUM(delta) OVER (
                PARTITION BY customer_id, currency ORDER BY month ASC NULLS FIRST
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ),
            CAST(0 AS DECIMAL(38, 8))
        ) AS before_local,
        SUM(delta) OVER (
            PARTITION BY customer_id, currency ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS after_local
    FROM grid
),
valued AS (
    -- Each step's balances at the opening month's rates, in the months asked for. A sum of
    -- local MRR is converted by the rate's whole part and the rest separately, so each
    -- product fits 38 digits (METRICS.md: monthly totals below 10^15, rates below 10^8).
    SELECT
        b.customer_id,
        b.month,
        b.several,
        b.before_local,
        b.after_local,
        CAST(
            CAST(CAST(b.before_local AS DECIMAL(24, 9)) * CAST(r.opening_rate AS DECIMAL(9, 0))
                AS DECIMAL(38, 18))
            + CAST(CAST(b.before_local AS DECIMAL(24, 9))
                * CAST(r.opening_rate - CAST(r.opening_rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9))
                AS DECIMAL(38, 18))
            AS DECIMAL(38, 18)
        ) AS prev,
        CAST(
            CAST(CAST(b.after_local AS DECIMAL(24, 9)) * CAST(r.opening_rate AS DECIMAL(9, 0))
                AS DECIMAL(38, 18))
            + CAST(CAST(b.after_local AS DECIMAL(24, 9))
                * CAST(r.opening_rate - CAST(r.opening_rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9))
                AS DECIMAL(38, 18))
            AS DECIMAL(38, 18)
        ) AS cur
    FROM balances AS b
    LEFT JOIN (SELECT currency, month, opening_rate FROM bridge_rates WHERE month >= :first) AS r
        ON r.currency = b.currency AND r.month = b.month
),
steps AS (
    -- Per customer and month: local MRR before and after summed over its currencies, which
    -- mixes currencies and so only says whether it had MRR (every line's MRR is > 0), and,
    -- in the months asked for, its MRR at the opening month's rates. A customer in one
    -- currency has one step a month already: only the others are summed.
    SELECT customer_id, month, before_local AS before, after_local AS after, prev, cur
    FROM valued
    WHERE NOT several
    UNION ALL
    SELECT
        customer_id,
        month,
        CAST(SUM(before_local) AS DECIMAL(38, 8)) AS before,
        CAST(SUM(after_local) AS DECIMAL(38, 8)) AS after,
        CAST(SUM(prev) AS DECIMAL(38, 18)) AS prev,
        CAST(SUM(cur) AS DECIMAL(38, 18)) AS cur
    FROM valued
    WHERE several
    GROUP BY customer_id, month
)
SELECT
    s.customer_id,
    s.month,
    s.prev,
    s.cur,
    CASE WHEN s.prev = 0 AND s.cur > 0 AND NOT COALESCE(b.is_return, FALSE) THEN s.cur
    ELSE CAST(0 AS DECIMAL(38, 18)) END AS new,
    CASE WHEN s.prev = 0 AND s.cur > 0 AND COALESCE(b.is_return, FALSE) THEN s.cur
    ELSE CAST(0 AS DECIMAL(38, 18)) END AS reactivation,
    -- A difference of two 38-digit decimals is cast back: Spark gives it one decimal less
    -- (exact, as money never has more than 17).
    CASE WHEN s.prev > 0 AND s.cur > s.prev THEN CAST(s.cur - s.prev AS DECIMAL(38, 18))
    ELSE CAST(0 AS DECIMAL(38, 18)) END AS expansion,
    CASE WHEN s.cur > 0 AND s.cur < s.prev THEN CAST(s.prev - s.cur AS DECIMAL(38, 18))
    ELSE CAST(0 AS DECIMAL(38, 18)) END AS contraction,
    CASE WHEN s.prev > 0 AND s.cur = 0 THEN s.prev
    ELSE CAST(0 AS DECIMAL(38, 18)) END AS churn
FROM steps AS s
LEFT JOIN starts AS b ON b.customer_id = s.customer_id AND b.month = s.month
WHERE s.month >= :first AND s.month <= :last
