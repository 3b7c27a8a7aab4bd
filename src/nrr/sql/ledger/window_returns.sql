-- Whether a customer that comes back inside a window (:s, :e] does so as a reactivation,
-- under a reactivation window of :gap months: its first start inside the window decides, as
-- in the monthly bridge. A customer that stops in month c (last MRR in c-1) and starts again
-- in m was away m - c months.
--
-- lines       the checked lines (as in window.sql)
-- candidates  (customer_id): customers active before :s but not at :s
--
-- Returns (customer_id, is_return).
WITH live AS (
    SELECT l.customer_id, l.start_m, l.end_m
    FROM lines AS l
    JOIN candidates AS c ON c.customer_id = l.customer_id
    WHERE l.mrr_local > 0 AND (l.end_m IS NULL OR l.end_m > l.start_m)
),
events AS (
    SELECT customer_id, start_m AS month, 1 AS line_change FROM live
    UNION ALL
    SELECT customer_id, end_m AS month, -1 AS line_change FROM live WHERE end_m IS NOT NULL
),
changes AS (
    SELECT customer_id, month, SUM(line_change) AS line_change
    FROM events
    GROUP BY customer_id, month
),
counted AS (
    -- Lines in service just after each month a customer's lines change.
    SELECT
        customer_id,
        month,
        line_change,
        SUM(line_change) OVER (
            PARTITION BY customer_id ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS after
    FROM changes
),
stops AS (
    SELECT
        customer_id,
        month,
        after - line_change AS before,
        after,
        MAX(CASE WHEN after - line_change > 0 AND after = 0 THEN month END) OVER (
            PARTITION BY customer_id ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS last_stop
    FROM counted
),
starts AS (
    SELECT
        customer_id,
        month,
        last_stop IS NOT NULL AND month - last_stop <= :gap AS is_return
    FROM stops
    WHERE before = 0 AND after > 0 AND month > :s AND month <= :e
),
first_starts AS (
    SELECT customer_id, MIN(month) AS month
    FROM starts
    GROUP BY customer_id
)
SELECT s.customer_id, s.is_return
FROM starts AS s
JOIN first_starts AS f ON f.customer_id = s.customer_id AND f.month = s.month
