-- Who each customer has on its side on each day (docs/health.md: stakeholder coverage,
-- champion left).
--
-- stakeholders  (customer_id, name, champion, decision_maker, active_from, active_until,
--               ...): the checked stakeholders input (health/inputs.py); active_from is NULL
--               when not known (then the person counts from the start), active_until NULL
--               while the person is still there
-- days          (as_of, d90, ...): each as-of day and the day 90 days before it
--
-- Returns (as_of, customer_id, champion_there, decider_there, champion_gone, gone_on,
-- gone_name) for every customer with a stakeholder listed, on every day: whether a champion
-- and a decision maker are there on the day, and whether a champion left in the 90 days
-- before it (when, and who: the last to leave, the first by name when two left that day).
WITH listed AS (
    SELECT
        d.as_of,
        s.customer_id,
        s.name,
        s.champion,
        s.decision_maker,
        s.active_until,
        d.d90,
        (s.active_from IS NULL OR s.active_from < d.as_of) AS arrived
    FROM stakeholders AS s
    CROSS JOIN days AS d
),
judged AS (
    SELECT
        as_of,
        customer_id,
        name,
        champion,
        decision_maker,
        active_until,
        arrived AND (active_until IS NULL OR active_until >= as_of) AS there,
        arrived AND champion AND active_until IS NOT NULL
            AND active_until >= d90 AND active_until < as_of AS gone
    FROM listed
),
per_customer AS (
    SELECT
        as_of,
        customer_id,
        MAX(CASE WHEN champion AND there THEN 1 ELSE 0 END) = 1 AS champion_there,
        MAX(CASE WHEN decision_maker AND there THEN 1 ELSE 0 END) = 1 AS decider_there,
        MAX(CASE WHEN gone THEN 1 ELSE 0 END) = 1 AS champion_gone,
        MAX(CASE WHEN gone THEN active_until END) AS gone_on
    FROM judged
    GROUP BY as_of, customer_id
),
last_gone AS (
    SELECT j.as_of, j.customer_id, MIN(j.name) AS gone_name
    FROM judged AS j
    JOIN per_customer AS p
        ON p.as_of = j.as_of AND p.customer_id = j.customer_id AND p.gone_on = j.active_until
    WHERE j.gone
    GROUP BY j.as_of, j.customer_id
)
SELECT
    p.as_of,
    p.customer_id,
    p.champion_there,
    p.decider_there,
    p.champion_gone,
    g.gone_name,
    p.gone_on
FROM per_customer AS p
LEFT JOIN last_gone AS g ON g.as_of = p.as_of AND g.customer_id = p.customer_id
