-- A book's lines restricted to the customers of one slice (`Book.where`).
--
-- sliced  (customer_id, currency, start_m, end_m, mrr_local, product, segment): the book's
--         lines, each with its customer's slice
--
-- The slice's value is bound as a literal, never pasted into the text.
SELECT customer_id, currency, start_m, end_m, mrr_local, product
FROM sliced
WHERE segment = :value
