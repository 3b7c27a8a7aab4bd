-- The currencies a book's lines are in.
--
-- lines  (currency, ...): the checked lines
-- (Sorted by nrr in Python: an engine's collation may order text otherwise.)
SELECT DISTINCT currency
FROM lines
