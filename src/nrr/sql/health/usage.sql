-- Usage measures of each customer as of each day (docs/health.md: usage trend, seat
-- utilization, active user ratio, new user growth).
--
-- usage  (customer_id, date, metric, value): the checked usage input (health/inputs.py), one
--        row per customer, day and metric reported; value DECIMAL(38, 10)
-- days   (as_of, d30, d60, d_base, ...): each as-of day and the first days of its look-back
--        windows (30 and 60 days before it, and the start of the longest baseline)
--
-- Returns (as_of, customer_id, trend_now, trend_before, seats_used, active_users,
-- active_before) for every customer with usage rows in [d_base, as_of): means per reported
-- row, so daily and weekly reporting give the same figures; NULL where there is none.
-- :metric is the metric whose trend is measured.
WITH dated AS (
    -- Each row once per as-of day whose look-back it falls in; nothing dated the day or later.
    SELECT
        d.as_of,
        u.customer_id,
        u.metric,
        CAST(u.value AS DOUBLE) AS value,
        u.date >= d.d30 AS recent,
        u.date >= d.d60 AND u.date < d.d30 AS prior
    FROM usage AS u
    JOIN days AS d ON u.date >= d.d_base AND u.date < d.as_of
    WHERE u.metric IN (:metric, 'seats_used', 'active_users')
)
SELECT
    as_of,
    customer_id,
    AVG(CASE WHEN metric = :metric AND recent THEN value END) AS trend_now,
    AVG(CASE WHEN metric = :metric AND prior THEN value END) AS trend_before,
    AVG(CASE WHEN metric = 'seats_used' AND recent THEN value END) AS seats_used,
    AVG(CASE WHEN metric = 'active_users' AND recent THEN value END) AS active_users,
    -- Active users over the baseline before the last 30 days: new user growth.
    AVG(CASE WHEN metric = 'active_users' AND NOT recent THEN value END) AS active_before
FROM dated
GROUP BY as_of, customer_id
