-- The largest line of one currency in service in one month: the line a total past the
-- supported range is reported on.
--
-- lines  (_row, currency, start_m, end_m, mrr_local): the checked lines, months as integers
--        (year * 12 + month - 1), end_m exclusive
--
-- Returns (_row) of the line with the most MRR in :currency in service in month :month (the
-- first by row among equals), or no row.
SELECT _row
FROM lines
WHERE
    mrr_local > 0
    AND (end_m IS NULL OR end_m > start_m)
    AND currency = :currency
    AND start_m <= :month
    AND (end_m IS NULL OR end_m > :month)
ORDER BY mrr_local DESC NULLS LAST, _row ASC NULLS LAST
LIMIT 1
