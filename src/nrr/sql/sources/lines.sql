-- Canonical subscription lines (METRICS.md section 1) as the ledger reads them.
--
-- subscriptions  (customer_id, product, start_date, end_date, amount, interval, quantity,
--                currency): text or typed columns; product, end_date, interval, quantity and
--                currency may be empty
--
-- Trusts its input: nrr's checks (nrr metrics on the same tables) name every row this
-- statement would misread. Months become integers (year * 12 + month - 1). A line's MRR is
-- amount / interval to 8 decimals, exactly: the quotient in doubles (what DuckDB divides
-- decimals in) is corrected by its exact remainder, so every engine gets the same digits.
WITH typed AS (
    SELECT
        TRIM(CAST(customer_id AS VARCHAR)) AS customer_id,
        COALESCE(NULLIF(TRIM(CAST(product AS VARCHAR)), ''), 'default') AS product,
        COALESCE(NULLIF(UPPER(TRIM(CAST(currency AS VARCHAR))), ''), :base) AS currency,
        CAST(NULLIF(TRIM(CAST(start_date AS VARCHAR)), '') AS DATE) AS start_date,
        CAST(NULLIF(TRIM(CAST(end_date AS VARCHAR)), '') AS DATE) AS end_date,
        CAST(TRIM(CAST(amount AS VARCHAR)) AS DECIMAL(38, 10)) AS amount,
        CASE LOWER(COALESCE(TRIM(CAST("interval" AS VARCHAR)), ''))
            WHEN '' THEN CAST(1 AS DECIMAL(38, 10))
            WHEN 'month' THEN CAST(1 AS DECIMAL(38, 10))
            WHEN 'quarter' THEN CAST(3 AS DECIMAL(38, 10))
            WHEN 'half_year' THEN CAST(6 AS DECIMAL(38, 10))
            WHEN 'year' THEN CAST(12 AS DECIMAL(38, 10))
            ELSE CAST(TRIM(CAST("interval" AS VARCHAR)) AS DECIMAL(38, 10))
        END AS interval_months
    FROM subscriptions
),
rough AS (
    SELECT
        customer_id,
        product,
        currency,
        CAST(EXTRACT(YEAR FROM start_date) * 12 + EXTRACT(MONTH FROM start_date) - 1 AS BIGINT)
            AS start_m,
        CAST(EXTRACT(YEAR FROM end_date) * 12 + EXTRACT(MONTH FROM end_date) - 1 AS BIGINT)
            AS end_m,
        amount,
        interval_months,
        CAST(CAST(amount AS DOUBLE) / CAST(interval_months AS DOUBLE) AS DECIMAL(21, 8))
            AS approx
    FROM typed
)
SELECT
    customer_id,
    currency,
    start_m,
    end_m,
    CAST(
        approx
        + CAST(
            CAST(amount - approx * interval_months AS DOUBLE) / CAST(interval_months AS DOUBLE)
            AS DECIMAL(20, 8)
        )
        AS DECIMAL(20, 8)
    ) AS mrr_local,
    product
FROM rough
