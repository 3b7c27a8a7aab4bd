-- The last touchpoint of each customer before each day (docs/health.md: days since touch).
--
-- touchpoints  (customer_id, date, kind): the checked touchpoints input (health/inputs.py)
-- days         (as_of, ...): each as-of day
--
-- Returns (as_of, customer_id, last_touch) for every customer touched before the day.
SELECT d.as_of, t.customer_id, MAX(t.date) AS last_touch
FROM touchpoints AS t
JOIN days AS d ON t.date < d.as_of
GROUP BY d.as_of, t.customer_id
