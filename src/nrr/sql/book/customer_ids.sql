-- Every customer a book knows: those with a line and those in the customers input.
--
-- lines      (customer_id, ...): the checked lines
-- customers  (customer_id, ...): the checked customers (an empty table when none was given)
SELECT customer_id FROM lines WHERE customer_id IS NOT NULL
UNION
SELECT customer_id FROM customers WHERE customer_id IS NOT NULL
