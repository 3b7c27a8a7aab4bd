-- How many customers stop, month by month, for months :first to :last: the customers the
-- bridge counts as churned.
--
-- lines  (customer_id, start_m, end_m, mrr_local): the checked lines, months as integers
--        (year * 12 + month - 1), end_m exclusive
--
-- Returns (month, stopped) for every month from :first to :last in which a customer stops.
--
-- A customer stops in month m when it had a line in service before m and has none from m. Its
-- live lines all carry MRR, at rates above zero, so that is exactly when its MRR goes from
-- above zero to zero (the bridge's churn): counting lines in service, as bridge.sql does,
-- needs no money and no rates. A customer can only stop in a month one of its lines ends, so
-- the running count is taken only for customers with a line ending from :first to :last.
WITH all_live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT customer_id, start_m, end_m
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
ending AS (
    -- The customers that can stop in the months asked for.
    SELECT DISTINCT customer_id
    FROM all_live
    WHERE end_m >= :first AND end_m <= :last
),
live AS (
    -- Their lines, all of them: the count before a stop reads every earlier month.
    SELECT l.customer_id, l.start_m, l.end_m
    FROM all_live AS l
    JOIN ending AS c ON c.customer_id = l.customer_id
),
events AS (
    SELECT customer_id, start_m AS month, 1 AS lines
    FROM live
    UNION ALL
    SELECT customer_id, end_m AS month, -1 AS lines
    FROM live
    WHERE end_m IS NOT NULL
),
changes AS (
    -- Only the months up to :last matter: a running count reads the months before.
    SELECT customer_id, month, SUM(lines) AS line_change
    FROM events
    WHERE month <= :last
    GROUP BY customer_id, month
),
steps AS (
    SELECT
        month,
        line_change,
        SUM(line_change) OVER (
            PARTITION BY customer_id ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS after
    FROM changes
)
SELECT month, COUNT(*) AS stopped
FROM steps
WHERE after = 0 AND after - line_change > 0 AND month >= :first AND month <= :last
GROUP BY month
