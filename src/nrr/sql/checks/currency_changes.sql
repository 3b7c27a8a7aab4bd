-- How each currency's MRR in service changes from month to month: the walk that finds the
-- first month a total reaches the supported range, run only for a book near it.
--
-- lines  (currency, start_m, end_m, mrr_local): the checked lines, months as integers
--        (year * 12 + month - 1), end_m exclusive
--
-- Returns (currency, change_m, delta) by month: the MRR that starts in change_m less the MRR
-- that ends there (a line ending in month c was last in service in c - 1).
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT currency, start_m, end_m, mrr_local
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
changes AS (
    SELECT currency, start_m AS change_m, CAST(mrr_local AS DECIMAL(38, 8)) AS delta
    FROM live
    UNION ALL
    SELECT currency, end_m AS change_m, CAST(-mrr_local AS DECIMAL(38, 8)) AS delta
    FROM live
    WHERE end_m IS NOT NULL
)
SELECT currency, change_m, CAST(SUM(delta) AS DECIMAL(38, 8)) AS delta
FROM changes
GROUP BY currency, change_m
ORDER BY change_m ASC NULLS LAST, currency ASC NULLS LAST
