-- Exact copies of an earlier line, and lines that start while an earlier line of the same
-- customer and product is still in service: how many of each, and the first of each.
--
-- lines  (_row, customer_id, product, currency, start_date, end_date, start_m, end_m, amount,
--        interval_months, quantity, mrr_local): the checked lines, months as integers
--        (year * 12 + month - 1), end_m exclusive
--
-- Returns (kind, lines_of_kind, _row, first_row, customer_id, product, start_date) for the
-- first :examples lines of each kind by row: kind is 'copy' (first_row is the row it
-- copies) or 'overlap'; lines_of_kind counts every line of the kind. A copy is never also
-- counted as an overlap.
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT *
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
marked AS (
    SELECT
        _row,
        customer_id,
        product,
        start_date,
        -- Every field of a line as given; the month and MRR columns follow from them.
        MIN(_row) OVER (
            PARTITION BY
                customer_id, product, currency, start_date, end_date, amount,
                interval_months, quantity
        ) AS first_row,
        -- The latest end among the lines of the customer and product that start earlier
        -- (by start date, then row); a line without an end reaches the last day there is.
        MAX(COALESCE(end_date, CAST('9999-12-31' AS DATE))) OVER (
            PARTITION BY customer_id, product
            ORDER BY start_date ASC NULLS FIRST, _row ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS reach
    FROM live
),
found AS (
    SELECT
        CASE WHEN first_row < _row THEN 'copy' ELSE 'overlap' END AS kind,
        _row,
        first_row,
        customer_id,
        product,
        start_date
    FROM marked
    WHERE first_row < _row OR (reach IS NOT NULL AND reach > start_date)
),
placed AS (
    SELECT
        kind,
        COUNT(*) OVER (PARTITION BY kind) AS lines_of_kind,
        ROW_NUMBER() OVER (PARTITION BY kind ORDER BY _row ASC NULLS FIRST) AS place,
        _row,
        first_row,
        customer_id,
        product,
        start_date
    FROM found
)
SELECT kind, lines_of_kind, _row, first_row, customer_id, product, start_date
FROM placed
WHERE place <= :examples
ORDER BY kind ASC NULLS LAST, _row ASC NULLS LAST
