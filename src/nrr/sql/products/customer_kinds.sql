-- The customer's own change in each month from :first to :last in which its lines change: the
-- kind every product of that customer moves by that month (METRICS.md section 4).
--
-- steps   (customer_id, month, before, after): metrics/bridge.sql's `steps` over the book's
--         lines, whatever their product: the customer's lines in service before and after
-- starts  (customer_id, month, is_return): bridge.sql's starts_any_gap or starts_within_gap,
--         so a start is a return exactly when the book's own bridge says so
--
-- Returns (customer_id, month, kind): new, reactivation, churn, or both (active before and
-- after, whatever moved between its products).
SELECT
    s.customer_id,
    s.month,
    CASE
        WHEN s.before = 0 AND s.after > 0 AND b.is_return THEN 'reactivation'
        WHEN s.before = 0 AND s.after > 0 THEN 'new'
        WHEN s.before > 0 AND s.after = 0 THEN 'churn'
        ELSE 'both'
    END AS kind
FROM steps AS s
LEFT JOIN starts AS b ON b.customer_id = s.customer_id AND b.month = s.month
WHERE s.month >= :first AND s.month <= :last
