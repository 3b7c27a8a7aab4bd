-- The customers active in a window's first month, each valued at both ends (the health
-- score's population and a backtest's outcomes, docs/health.md).
--
-- customer_values  (customer_id, s_s, e_s, e_e, first_m): ledger/window.sql for (:s, :e),
--                  spot rates
--
-- Returns (customer_id, s_s, e_s, e_e, first_m) for every customer with MRR in :s: MRR(s) at
-- s's rates, MRR(e) at s's rates and at e's, and the first month it had MRR. Customers that
-- only arrive by :e are no one's cohort here.
SELECT customer_id, s_s, e_s, e_e, first_m
FROM customer_values
WHERE s_s > 0
