-- A window's expansion and contraction per slice, split by cause as far as sums go
-- (docs/causes-and-owners.md).
--
-- cause_rows  cause_rows.sql's rows: (customer_id, segment, movement, prev, cur, delta,
--             exact_seats, ...)
--
-- Returns (segment, movement, total, cross_sell, dropped, plain_price, exact_delta,
-- customers). The change of a product held at both ends is price (plain_price) unless its
-- quantity moved: those changes (exact_delta) are split into seats and price by an exact
-- division outside SQL. Signed as changes (cur - prev): a contraction's parts are negated
-- by the caller.
SELECT
    segment,
    movement,
    CAST(SUM(delta) AS DECIMAL(38, 18)) AS total,
    CAST(SUM(CASE WHEN prev = 0 THEN delta ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS cross_sell,
    CAST(SUM(CASE WHEN cur = 0 THEN delta ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS dropped,
    CAST(SUM(
        CASE WHEN prev > 0 AND cur > 0 AND NOT exact_seats THEN delta
        ELSE CAST(0 AS DECIMAL(38, 18)) END
    ) AS DECIMAL(38, 18)) AS plain_price,
    CAST(SUM(CASE WHEN exact_seats THEN delta ELSE CAST(0 AS DECIMAL(38, 18)) END)
        AS DECIMAL(38, 18)) AS exact_delta,
    COUNT(DISTINCT customer_id) AS customers
FROM cause_rows
GROUP BY segment, movement
