-- The customers of one slice over a window, valued and classed as the window's figures count
-- them (METRICS.md section 4).
--
-- customer_values   (customer_id, s_s, e_s, e_e, first_m): window.sql's rows
-- customers_valued  (customer_id, segment, s_s, e_s, e_e, is_return): the same customers with
--                   their slice, and whether one outside the cohort came back as a
--                   reactivation
--
-- Returns (customer_id, first_m, s_s, e_s, e_e, is_return) for the customers whose slice is
-- :value (bound as a literal, never pasted in).
SELECT v.customer_id, c.first_m, v.s_s, v.e_s, v.e_e, v.is_return
FROM customers_valued AS v
JOIN customer_values AS c ON c.customer_id = v.customer_id
WHERE v.segment = :value
