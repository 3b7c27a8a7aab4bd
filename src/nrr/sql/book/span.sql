-- What a book holds, in one pass over its lines: per currency, the number of lines, the first
-- and last month a line starts, and the last month a line ends (a line ending in month c was
-- last in service in c - 1). The book's figures are these rows' sums, minimums and maximums;
-- an empty book has no row.
--
-- lines  (customer_id, currency, start_m, end_m, mrr_local): the checked lines, months as
--        integers (year * 12 + month - 1), end_m exclusive
SELECT
    currency,
    COUNT(*) AS line_count,
    MIN(start_m) AS first_start,
    MAX(start_m) AS last_start,
    MAX(end_m) AS last_end
FROM lines
GROUP BY currency
