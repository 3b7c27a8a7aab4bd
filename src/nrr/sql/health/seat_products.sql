-- What each customer holds of each product in a reference month: the licensed seats are
-- picked from these rows (health/indicators.py).
--
-- lines  (customer_id, product, start_m, end_m, mrr_local, quantity): the checked lines with
--        their quantities, months as integers (year * 12 + month - 1)
-- days   (as_of, ref, ...): each as-of day and its reference month
--
-- Returns (as_of, customer_id, product, quantity, local_mrr) per customer and product in
-- service in the day's reference month: the summed quantity and the summed local MRR, in the
-- lines' own currency (only its share of the customer's is read: the seats' share of MRR).
-- Both are summed exactly, then read as doubles.
SELECT
    d.as_of,
    l.customer_id,
    l.product,
    CAST(CAST(SUM(l.quantity) AS DECIMAL(38, 10)) AS DOUBLE) AS quantity,
    CAST(CAST(SUM(l.mrr_local) AS DECIMAL(38, 8)) AS DOUBLE) AS local_mrr
FROM lines AS l
JOIN days AS d ON l.start_m <= d.ref AND (l.end_m IS NULL OR l.end_m > d.ref)
-- Only lines in service in at least one month and carrying MRR, as in ledger/window.sql.
WHERE l.mrr_local > 0 AND (l.end_m IS NULL OR l.end_m > l.start_m)
GROUP BY d.as_of, l.customer_id, l.product
-- Ordered so that a tie for the most seats goes to the first product by name.
ORDER BY d.as_of ASC NULLS LAST, l.customer_id ASC NULLS LAST, l.product ASC NULLS LAST
