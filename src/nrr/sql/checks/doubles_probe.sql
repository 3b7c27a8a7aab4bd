-- Whether any line can be a copy or an overlap: the number of lines in service that start
-- before the line just before them (of the same customer and product) ends.
--
-- lines  (_row, customer_id, product, start_date, end_date, start_m, end_m, mrr_local): the
--        checked lines, months as integers (year * 12 + month - 1), end_m exclusive
--
-- Returns one row: starts_inside. A copy starts before the end of the line it copies, so a
-- book where no line starts before an earlier one ends (the usual case) has neither. Lines
-- before the first that does each start at or after every earlier end, and so does it, but
-- for the line just before it: comparing with that one line finds it, and LAG is cheaper
-- than a running maximum (0.6 s against 0.75 s at 3M lines).
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT _row, customer_id, product, start_date, end_date
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
after_previous AS (
    -- Each line's start beside the end of the line before it (a line without an end
    -- reaches the last day there is).
    SELECT
        start_date,
        LAG(COALESCE(end_date, CAST('9999-12-31' AS DATE))) OVER (
            PARTITION BY customer_id, product
            ORDER BY start_date ASC NULLS FIRST, _row ASC NULLS FIRST
        ) AS previous_end
    FROM live
)
SELECT COUNT(*) AS starts_inside
FROM after_previous
WHERE previous_end > start_date
