-- Where each suspect id is first given: its first row in each input.
--
-- lines      (_row, customer_id, ...): the checked lines
-- customers  (_row, customer_id, ...): the checked customers input (empty when there is none)
-- suspects   (customer_id): the ids that have a look-alike (`lookalike_ids.sql`)
-- keys       (lookalike_key): the keys of the ids that are not plain ASCII; a plain id whose
--            lower case is one of them is a look-alike too
--
-- Returns (side, customer_id, first_row): side is 'subscriptions' or 'customers'.
WITH given AS (
    SELECT 'subscriptions' AS side, customer_id, _row FROM lines
    UNION ALL
    SELECT 'customers' AS side, customer_id, _row FROM customers
)
SELECT side, customer_id, MIN(_row) AS first_row
FROM given
WHERE
    customer_id IN (SELECT customer_id FROM suspects)
    OR (
        LOWER(customer_id) IN (SELECT lookalike_key FROM keys)
        AND REGEXP_MATCHES(customer_id, '^[!-~]+$')
    )
GROUP BY side, customer_id
