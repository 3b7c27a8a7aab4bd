-- Support load of each customer as of each day (docs/health.md: ticket load, ticket trend).
--
-- tickets   (customer_id, opened_at, priority, ...): the checked tickets input
--           (health/inputs.py), priorities in lower case
-- days      (as_of, d30, d_base, ...): each as-of day, the day 30 days before it and the start
--           of the ticket baseline
-- severity  (priority, weight): each priority's weight, DECIMAL(9, 2)
--
-- Returns (as_of, customer_id, ticket_load, ticket_base, tickets, serious) for every customer
-- with a ticket opened in [d_base, as_of): the summed severity of the last 30 days and of the
-- baseline before them (summed exactly, then read as doubles; NULL when none), and the
-- number of tickets of the last 30 days and of those high or urgent.
WITH weighted AS (
    SELECT
        d.as_of,
        t.customer_id,
        t.opened_at >= d.d30 AS recent,
        t.priority IN ('high', 'urgent') AS is_serious,
        -- A priority without a weight (none passes the checks) weighs as a normal one.
        COALESCE(s.weight, CAST(1 AS DECIMAL(9, 2))) AS weight
    FROM tickets AS t
    JOIN days AS d ON t.opened_at >= d.d_base AND t.opened_at < d.as_of
    LEFT JOIN severity AS s ON s.priority = t.priority
)
SELECT
    as_of,
    customer_id,
    CAST(CAST(SUM(CASE WHEN recent THEN weight END) AS DECIMAL(38, 2)) AS DOUBLE)
        AS ticket_load,
    CAST(CAST(SUM(CASE WHEN NOT recent THEN weight END) AS DECIMAL(38, 2)) AS DOUBLE)
        AS ticket_base,
    COUNT(CASE WHEN recent THEN 1 END) AS tickets,
    COUNT(CASE WHEN recent AND is_serious THEN 1 END) AS serious
FROM weighted
GROUP BY as_of, customer_id
