-- Survey answers of each customer as of each day (docs/health.md: NPS, CSAT).
--
-- surveys  (customer_id, date, kind, score): the checked surveys input (health/inputs.py),
--          kind nps or csat, score a whole number
-- days     (as_of, d_survey, ...): each as-of day and the first day of its survey look-back
--
-- Returns (as_of, customer_id, nps, nps_answers, csat, csat_answers) for every customer with
-- an answer in [d_survey, as_of): the mean score of each kind (NULL without an answer of
-- that kind) and how many answers it averages.
WITH dated AS (
    SELECT d.as_of, s.customer_id, s.kind, CAST(s.score AS DOUBLE) AS score
    FROM surveys AS s
    JOIN days AS d ON s.date >= d.d_survey AND s.date < d.as_of
)
SELECT
    as_of,
    customer_id,
    AVG(CASE WHEN kind = 'nps' THEN score END) AS nps,
    COUNT(CASE WHEN kind = 'nps' THEN 1 END) AS nps_answers,
    AVG(CASE WHEN kind = 'csat' THEN score END) AS csat,
    COUNT(CASE WHEN kind = 'csat' THEN 1 END) AS csat_answers
FROM dated
GROUP BY as_of, customer_id
