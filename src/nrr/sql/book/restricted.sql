-- A book's lines restricted to the customers of one slice (`Book.where`).
--
-- lines   the book's lines, every column kept
-- sliced  (customer_id, segment, ...): the book's lines, each with its customer's slice
--
-- The slice's value is bound as a literal, never pasted into the text.
SELECT l.*
FROM lines AS l
WHERE l.customer_id IN (SELECT customer_id FROM sliced WHERE segment = :value)
