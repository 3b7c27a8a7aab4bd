-- Each currency's lines in service, for the rates' coverage and the supported range.
--
-- lines  (_row, currency, start_m, end_m, mrr_local): the checked lines, months as integers
--        (year * 12 + month - 1), end_m exclusive
--
-- Returns (currency, first_m, first_row, total) for each currency that carries MRR: the first
-- month one of its lines starts, the row of the first such line, and the sum of its lines'
-- MRR (all of them, as if in service at once: it bounds every monthly total).
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT _row, currency, start_m, mrr_local
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
)
SELECT
    currency,
    MIN(start_m) AS first_m,
    -- The first line by start month, then row, in one aggregate: rows are below 10^12, so
    -- the key orders by month first and the row comes back by subtracting the month's part.
    MIN(start_m * 1000000000000 + _row) - MIN(start_m) * 1000000000000 AS first_row,
    CAST(SUM(mrr_local) AS DECIMAL(38, 8)) AS total
FROM live
GROUP BY currency
ORDER BY currency ASC NULLS LAST
