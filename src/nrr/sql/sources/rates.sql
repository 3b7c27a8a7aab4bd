-- The rate that values each currency in each calendar month (METRICS.md section 1): that
-- month's, else the latest earlier month's; before a currency's first rate, its first one.
--
-- fx_rates  (month, currency, rate): month as YYYY-MM (or a date), rate in base units per unit
-- calendar  (month): the months asked for, as integers (year * 12 + month - 1)
--
-- Returns (currency, month, rate) for the base currency (always 1) and every other currency
-- of fx_rates; a row of fx_rates for the base currency is ignored.
WITH given AS (
    SELECT
        UPPER(TRIM(CAST(currency AS VARCHAR))) AS currency,
        CAST(SUBSTRING(TRIM(CAST("month" AS VARCHAR)), 1, 4) AS BIGINT) * 12
            + CAST(SUBSTRING(TRIM(CAST("month" AS VARCHAR)), 6, 2) AS BIGINT) - 1 AS month,
        CAST(TRIM(CAST(rate AS VARCHAR)) AS DECIMAL(17, 9)) AS rate
    FROM fx_rates
    WHERE UPPER(TRIM(CAST(currency AS VARCHAR))) <> :base
),
asked AS (
    SELECT g.currency, c.month, MAX(CASE WHEN g.month <= c.month THEN g.month END) AS latest,
        MIN(g.month) AS earliest
    FROM given AS g
    CROSS JOIN calendar AS c
    GROUP BY g.currency, c.month
)
SELECT a.currency, a.month, g.rate
FROM asked AS a
JOIN given AS g ON g.currency = a.currency AND g.month = COALESCE(a.latest, a.earliest)
UNION ALL
SELECT :base AS currency, month, CAST(1 AS DECIMAL(17, 9)) AS rate
FROM calendar
