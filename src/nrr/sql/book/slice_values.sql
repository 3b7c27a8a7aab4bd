-- The values a slice takes in a book: one row per value, `(none)` for customers without one.
--
-- sliced  (segment, ...): the book's lines, each with its customer's slice
-- (Sorted by nrr in Python: an engine's collation may order text otherwise.)
SELECT DISTINCT segment
FROM sliced
