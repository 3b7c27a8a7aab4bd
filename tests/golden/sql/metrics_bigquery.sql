WITH totals_subscription_lines_typed AS (
  SELECT
    TRIM(CAST(customer_id AS STRING)) AS customer_id,
    COALESCE(NULLIF(TRIM(CAST(product AS STRING)), ''), 'default') AS product,
    COALESCE(NULLIF(UPPER(TRIM(CAST(currency AS STRING))), ''), 'USD') AS currency,
    CAST(NULLIF(TRIM(CAST(start_date AS STRING)), '') AS DATE) AS start_date,
    CAST(NULLIF(TRIM(CAST(end_date AS STRING)), '') AS DATE) AS end_date,
    ROUND(CAST(TRIM(CAST(amount AS STRING)) AS BIGNUMERIC), 10) AS amount,
    CASE LOWER(COALESCE(TRIM(CAST(`interval` AS STRING)), ''))
      WHEN ''
      THEN ROUND(CAST(1 AS BIGNUMERIC), 10)
      WHEN 'month'
      THEN ROUND(CAST(1 AS BIGNUMERIC), 10)
      WHEN 'quarter'
      THEN ROUND(CAST(3 AS BIGNUMERIC), 10)
      WHEN 'half_year'
      THEN ROUND(CAST(6 AS BIGNUMERIC), 10)
      WHEN 'year'
      THEN ROUND(CAST(12 AS BIGNUMERIC), 10)
      ELSE ROUND(CAST(TRIM(CAST(`interval` AS STRING)) AS BIGNUMERIC), 10)
    END AS interval_months
  FROM subscriptions
), totals_subscription_lines_rough AS (
  SELECT
    customer_id,
    product,
    currency,
    CAST(EXTRACT(YEAR FROM start_date) * 12 + EXTRACT(MONTH FROM start_date) - 1 AS INT64) AS start_m,
    CAST(EXTRACT(YEAR FROM end_date) * 12 + EXTRACT(MONTH FROM end_date) - 1 AS INT64) AS end_m,
    amount,
    interval_months,
    ROUND(CAST(CAST(amount AS FLOAT64) / CAST(interval_months AS FLOAT64) AS BIGNUMERIC), 8) AS approx
  FROM totals_subscription_lines_typed AS typed
), totals_subscription_lines AS (
  SELECT
    customer_id,
    currency,
    start_m,
    end_m,
    ROUND(
      CAST(approx + ROUND(
        CAST(CAST(amount - approx * interval_months AS FLOAT64) / CAST(interval_months AS FLOAT64) AS BIGNUMERIC),
        8
      ) AS BIGNUMERIC),
      8
    ) AS mrr_local,
    product
  FROM totals_subscription_lines_rough AS rough
), totals_rate_months AS (
  SELECT
    CAST(month AS INT64) AS month
  FROM UNNEST([STRUCT(24299 AS month), STRUCT(24311 AS month)]) AS v
), totals_valuation_given AS (
  SELECT
    UPPER(TRIM(CAST(currency AS STRING))) AS currency,
    CAST(SUBSTRING(TRIM(CAST(`month` AS STRING)), 1, 4) AS INT64) * 12 + CAST(SUBSTRING(TRIM(CAST(`month` AS STRING)), 6, 2) AS INT64) - 1 AS month,
    ROUND(CAST(TRIM(CAST(rate AS STRING)) AS BIGNUMERIC), 9) AS rate
  FROM fx_rates
  WHERE
    UPPER(TRIM(CAST(currency AS STRING))) <> 'USD'
), totals_valuation_asked AS (
  SELECT
    g.currency,
    c.month,
    MAX(CASE WHEN g.month <= c.month THEN g.month END) AS latest,
    MIN(g.month) AS earliest
  FROM totals_valuation_given AS g
  CROSS JOIN totals_rate_months AS c
  GROUP BY
    g.currency,
    c.month
), totals_valuation AS (
  SELECT
    a.currency,
    a.month,
    g.rate
  FROM totals_valuation_asked AS a
  JOIN totals_valuation_given AS g
    ON g.currency = a.currency AND g.month = COALESCE(a.latest, a.earliest)
  UNION ALL
  SELECT
    'USD' AS currency,
    month,
    ROUND(CAST(1 AS BIGNUMERIC), 9) AS rate
  FROM totals_rate_months AS calendar
), totals_customer_attributes AS (
  SELECT
    TRIM(CAST(customer_id AS STRING)) AS customer_id,
    NULLIF(TRIM(CAST(`segment` AS STRING)), '') AS `segment`
  FROM customers
), totals_window_rates AS (
  SELECT
    currency,
    MAX(CASE WHEN month = 24299 THEN rate END) AS rate_s,
    MAX(CASE WHEN month = 24311 THEN rate END) AS rate_e
  FROM totals_valuation AS valuation
  GROUP BY
    currency
), totals_customer_values_live AS (
  /* Lines that are in service in at least one month and carry MRR. */
  SELECT
    customer_id,
    currency,
    start_m,
    end_m,
    mrr_local
  FROM totals_subscription_lines AS lines
  WHERE
    mrr_local > 0 AND (
      end_m IS NULL OR end_m > start_m
    )
), totals_customer_values_valued AS (
  SELECT
    l.customer_id,
    l.start_m,
    l.start_m <= 24299 AND (
      l.end_m IS NULL OR l.end_m > 24299
    ) AS at_s,
    l.start_m <= 24311 AND (
      l.end_m IS NULL OR l.end_m > 24311
    ) AS at_e,
    ROUND(CAST(ROUND(CAST(l.mrr_local AS BIGNUMERIC), 9) * r.rate_s AS BIGNUMERIC), 18) AS at_rate_s,
    ROUND(CAST(ROUND(CAST(l.mrr_local AS BIGNUMERIC), 9) * r.rate_e AS BIGNUMERIC), 18) AS at_rate_e
  FROM totals_customer_values_live AS l
  JOIN totals_window_rates AS r
    ON r.currency = l.currency
), totals_customer_values_per_customer AS (
  SELECT
    customer_id,
    ROUND(
      CAST(SUM(CASE WHEN at_s THEN at_rate_s ELSE ROUND(CAST(0 AS BIGNUMERIC), 18) END) AS BIGNUMERIC),
      18
    ) AS s_s,
    ROUND(
      CAST(SUM(CASE WHEN at_e THEN at_rate_s ELSE ROUND(CAST(0 AS BIGNUMERIC), 18) END) AS BIGNUMERIC),
      18
    ) AS e_s,
    ROUND(
      CAST(SUM(CASE WHEN at_e THEN at_rate_e ELSE ROUND(CAST(0 AS BIGNUMERIC), 18) END) AS BIGNUMERIC),
      18
    ) AS e_e,
    MIN(start_m) AS first_m
  FROM totals_customer_values_valued AS valued
  GROUP BY
    customer_id
), totals_customer_values AS (
  SELECT
    customer_id,
    s_s,
    e_s,
    e_e,
    first_m
  FROM totals_customer_values_per_customer AS per_customer
  WHERE
    s_s > 0 OR e_e > 0
), totals_sliced_values AS (
  SELECT
    v.*,
    COALESCE(c.`segment`, '(none)') || ' × ' || COALESCE(
      CASE
        WHEN 24299 - v.first_m < 0
        THEN 'new'
        WHEN 24299 - v.first_m < 6
        THEN '0-5'
        WHEN 24299 - v.first_m < 12
        THEN '6-11'
        WHEN 24299 - v.first_m < 24
        THEN '12-23'
        ELSE '24+'
      END,
      '(none)'
    ) AS segment
  FROM totals_customer_values AS v
  LEFT JOIN totals_customer_attributes AS c
    ON c.customer_id = v.customer_id
), totals_candidates AS (
  SELECT
    customer_id
  FROM totals_customer_values AS customer_values
  WHERE
    first_m < 24299 AND s_s = 0
), totals_returns_live AS (
  SELECT
    l.customer_id,
    l.start_m,
    l.end_m
  FROM totals_subscription_lines AS l
  JOIN totals_candidates AS c
    ON c.customer_id = l.customer_id
  WHERE
    l.mrr_local > 0 AND (
      l.end_m IS NULL OR l.end_m > l.start_m
    )
), totals_returns_events AS (
  SELECT
    customer_id,
    start_m AS month,
    1 AS line_change
  FROM totals_returns_live AS live
  UNION ALL
  SELECT
    customer_id,
    end_m AS month,
    -1 AS line_change
  FROM totals_returns_live AS live
  WHERE
    NOT end_m IS NULL
), totals_returns_changes AS (
  SELECT
    customer_id,
    month,
    SUM(line_change) AS line_change
  FROM totals_returns_events AS events
  GROUP BY
    customer_id,
    month
), totals_returns_counted AS (
  /* Lines in service just after each month a customer's lines change. */
  SELECT
    customer_id,
    month,
    line_change,
    SUM(line_change) OVER (
      PARTITION BY customer_id
      ORDER BY month ASC
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS after
  FROM totals_returns_changes AS changes
), totals_returns_stops AS (
  SELECT
    customer_id,
    month,
    after - line_change AS before,
    after,
    MAX(CASE WHEN after - line_change > 0 AND after = 0 THEN month END) OVER (
      PARTITION BY customer_id
      ORDER BY month ASC
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    ) AS last_stop
  FROM totals_returns_counted AS counted
), totals_returns_starts AS (
  SELECT
    customer_id,
    month,
    NOT last_stop IS NULL AND month - last_stop <= 3 AS is_return
  FROM totals_returns_stops AS stops
  WHERE
    before = 0 AND after > 0 AND month > 24299 AND month <= 24311
), totals_returns_first_starts AS (
  SELECT
    customer_id,
    MIN(month) AS month
  FROM totals_returns_starts AS starts
  GROUP BY
    customer_id
), totals_returns AS (
  SELECT
    s.customer_id,
    s.is_return
  FROM totals_returns_starts AS s
  JOIN totals_returns_first_starts AS f
    ON f.customer_id = s.customer_id AND f.month = s.month
), totals_customers_valued AS (
  SELECT
    v.customer_id,
    v.segment,
    v.s_s,
    v.e_s,
    v.e_e,
    COALESCE(r.is_return, FALSE) AS is_return
  FROM totals_sliced_values AS v
  LEFT JOIN totals_returns AS r
    ON r.customer_id = v.customer_id
), totals AS (
  /* A window's figures per slice (METRICS.md section 4) from each customer's values. */
  /* customers_valued  (customer_id, segment, s_s, e_s, e_e, is_return): window.sql's rows, with */
  /*                   whether a customer outside the cohort came back as a reactivation */
  /* The cohort is the customers with MRR at the start (s_s > 0). Movements compare MRR(s) and */
  /* MRR(e) at s's rates; fx is the closing position revalued (e_e - e_s). */
  SELECT
    segment,
    ROUND(
      CAST(SUM(CASE WHEN s_s > 0 THEN s_s ELSE ROUND(CAST(0 AS BIGNUMERIC), 18) END) AS BIGNUMERIC),
      18
    ) AS starting_mrr,
    ROUND(
      CAST(SUM(CASE WHEN s_s > 0 THEN e_e ELSE ROUND(CAST(0 AS BIGNUMERIC), 18) END) AS BIGNUMERIC),
      18
    ) AS ending_mrr,
    ROUND(
      CAST(SUM(CASE WHEN s_s > 0 THEN e_e - e_s ELSE ROUND(CAST(0 AS BIGNUMERIC), 18) END) AS BIGNUMERIC),
      18
    ) AS fx,
    ROUND(
      CAST(SUM(
        CASE
          WHEN s_s > 0 AND e_s > s_s
          THEN e_s - s_s
          ELSE ROUND(CAST(0 AS BIGNUMERIC), 18)
        END
      ) AS BIGNUMERIC),
      18
    ) AS expansion,
    ROUND(
      CAST(SUM(
        CASE
          WHEN s_s > 0 AND e_e > 0 AND s_s > e_s
          THEN s_s - e_s
          ELSE ROUND(CAST(0 AS BIGNUMERIC), 18)
        END
      ) AS BIGNUMERIC),
      18
    ) AS contraction,
    ROUND(
      CAST(SUM(CASE WHEN s_s > 0 AND e_e = 0 THEN s_s ELSE ROUND(CAST(0 AS BIGNUMERIC), 18) END) AS BIGNUMERIC),
      18
    ) AS churn,
    SUM(CASE WHEN s_s > 0 THEN 1 ELSE 0 END) AS customers_start,
    SUM(CASE WHEN s_s > 0 AND e_e > 0 THEN 1 ELSE 0 END) AS customers_retained,
    ROUND(
      CAST(SUM(
        CASE
          WHEN s_s = 0 AND e_e > 0 AND NOT is_return
          THEN e_e
          ELSE ROUND(CAST(0 AS BIGNUMERIC), 18)
        END
      ) AS BIGNUMERIC),
      18
    ) AS new_mrr,
    ROUND(
      CAST(SUM(
        CASE
          WHEN s_s = 0 AND e_e > 0 AND is_return
          THEN e_e
          ELSE ROUND(CAST(0 AS BIGNUMERIC), 18)
        END
      ) AS BIGNUMERIC),
      18
    ) AS reactivation_mrr
  FROM totals_customers_valued AS customers_valued
  GROUP BY
    segment
), figures AS (
  SELECT
    *,
    q0_nrr + CASE WHEN r_nrr < 0 THEN -1 WHEN r_nrr >= starting_mrr THEN 1 ELSE 0 END AS q_nrr,
    r_nrr - CASE WHEN r_nrr < 0 THEN -1 WHEN r_nrr >= starting_mrr THEN 1 ELSE 0 END * starting_mrr AS rest_nrr,
    q0_grr + CASE WHEN r_grr < 0 THEN -1 WHEN r_grr >= starting_mrr THEN 1 ELSE 0 END AS q_grr,
    r_grr - CASE WHEN r_grr < 0 THEN -1 WHEN r_grr >= starting_mrr THEN 1 ELSE 0 END * starting_mrr AS rest_grr,
    q0_logo_retention + CASE
      WHEN r_logo_retention < 0
      THEN -1
      WHEN r_logo_retention >= customers_start
      THEN 1
      ELSE 0
    END AS q_logo_retention,
    r_logo_retention - CASE
      WHEN r_logo_retention < 0
      THEN -1
      WHEN r_logo_retention >= customers_start
      THEN 1
      ELSE 0
    END * customers_start AS rest_logo_retention
  FROM (
    SELECT
      *,
      ROUND(CAST(ending_mrr AS BIGNUMERIC), 18) * 10000 - q0_nrr * starting_mrr AS r_nrr,
      ROUND(CAST((
        starting_mrr - contraction - churn
      ) AS BIGNUMERIC), 18) * 10000 - q0_grr * starting_mrr AS r_grr,
      ROUND(CAST(customers_retained AS BIGNUMERIC), 18) * 10000 - q0_logo_retention * customers_start AS r_logo_retention
    FROM (
      SELECT
        *,
        ROUND(
          CAST(FLOOR(CAST(ending_mrr AS FLOAT64) * 10000 / CAST(NULLIF(starting_mrr, 0) AS FLOAT64)) AS BIGNUMERIC),
          0
        ) AS q0_nrr,
        ROUND(
          CAST(FLOOR(
            CAST((
              starting_mrr - contraction - churn
            ) AS FLOAT64) * 10000 / CAST(NULLIF(starting_mrr, 0) AS FLOAT64)
          ) AS BIGNUMERIC),
          0
        ) AS q0_grr,
        ROUND(
          CAST(FLOOR(
            CAST(customers_retained AS FLOAT64) * 10000 / CAST(NULLIF(customers_start, 0) AS FLOAT64)
          ) AS BIGNUMERIC),
          0
        ) AS q0_logo_retention
      FROM (
        SELECT
          CAST(NULL AS STRING) AS segment,
          COALESCE(SUM(starting_mrr), 0) AS starting_mrr,
          COALESCE(SUM(ending_mrr), 0) AS ending_mrr,
          COALESCE(SUM(fx), 0) AS fx,
          COALESCE(SUM(expansion), 0) AS expansion,
          COALESCE(SUM(contraction), 0) AS contraction,
          COALESCE(SUM(churn), 0) AS churn,
          COALESCE(SUM(customers_start), 0) AS customers_start,
          COALESCE(SUM(customers_retained), 0) AS customers_retained,
          COALESCE(SUM(new_mrr), 0) AS new_mrr,
          COALESCE(SUM(reactivation_mrr), 0) AS reactivation_mrr
        FROM totals
        UNION ALL
        SELECT
          segment,
          starting_mrr,
          ending_mrr,
          fx,
          expansion,
          contraction,
          churn,
          customers_start,
          customers_retained,
          new_mrr,
          reactivation_mrr
        FROM totals
      ) AS step0
    ) AS step1
  ) AS step2
)
/* `nrr metrics --format json` as rows (METRICS.md section 6): the overall row (segment NULL) */
/* and, with --by, one row per slice; money rounded to cents and ratios to 4 places, half to */
/* even, as the JSON prints them. */
/* figures  (segment, starting_mrr, ..., customers_start, customers_retained, q0_nrr, q0_grr, */
/*          q0_logo_retention): the window's figures with each ratio's first quotient */
SELECT
  CAST('2024-12' AS STRING) AS start,
  CAST('2025-12' AS STRING) AS `end`,
  CAST(12 AS INT64) AS window_months,
  CAST('USD' AS STRING) AS currency,
  CAST('spot' AS STRING) AS fx_mode,
  segment,
  ROUND(
    CAST(CASE
      WHEN starting_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(starting_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) > 0.5
      THEN FLOOR(starting_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
      WHEN starting_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(starting_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) < 0.5
      THEN FLOOR(starting_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0))
      WHEN MOD(FLOOR(starting_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)), 2) = 0
      THEN FLOOR(starting_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0))
      ELSE FLOOR(starting_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
    END * ROUND(CAST('0.01' AS BIGNUMERIC), 2) AS BIGNUMERIC),
    2
  ) AS starting_mrr,
  ROUND(
    CAST(CASE
      WHEN ending_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(ending_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) > 0.5
      THEN FLOOR(ending_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
      WHEN ending_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(ending_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) < 0.5
      THEN FLOOR(ending_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0))
      WHEN MOD(FLOOR(ending_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)), 2) = 0
      THEN FLOOR(ending_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0))
      ELSE FLOOR(ending_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
    END * ROUND(CAST('0.01' AS BIGNUMERIC), 2) AS BIGNUMERIC),
    2
  ) AS ending_mrr,
  ROUND(
    CAST(CASE
      WHEN fx * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(fx * ROUND(CAST(100 AS BIGNUMERIC), 0)) > 0.5
      THEN FLOOR(fx * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
      WHEN fx * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(fx * ROUND(CAST(100 AS BIGNUMERIC), 0)) < 0.5
      THEN FLOOR(fx * ROUND(CAST(100 AS BIGNUMERIC), 0))
      WHEN MOD(FLOOR(fx * ROUND(CAST(100 AS BIGNUMERIC), 0)), 2) = 0
      THEN FLOOR(fx * ROUND(CAST(100 AS BIGNUMERIC), 0))
      ELSE FLOOR(fx * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
    END * ROUND(CAST('0.01' AS BIGNUMERIC), 2) AS BIGNUMERIC),
    2
  ) AS fx,
  ROUND(
    CAST(CASE
      WHEN expansion * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(expansion * ROUND(CAST(100 AS BIGNUMERIC), 0)) > 0.5
      THEN FLOOR(expansion * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
      WHEN expansion * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(expansion * ROUND(CAST(100 AS BIGNUMERIC), 0)) < 0.5
      THEN FLOOR(expansion * ROUND(CAST(100 AS BIGNUMERIC), 0))
      WHEN MOD(FLOOR(expansion * ROUND(CAST(100 AS BIGNUMERIC), 0)), 2) = 0
      THEN FLOOR(expansion * ROUND(CAST(100 AS BIGNUMERIC), 0))
      ELSE FLOOR(expansion * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
    END * ROUND(CAST('0.01' AS BIGNUMERIC), 2) AS BIGNUMERIC),
    2
  ) AS expansion,
  ROUND(
    CAST(CASE
      WHEN contraction * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(contraction * ROUND(CAST(100 AS BIGNUMERIC), 0)) > 0.5
      THEN FLOOR(contraction * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
      WHEN contraction * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(contraction * ROUND(CAST(100 AS BIGNUMERIC), 0)) < 0.5
      THEN FLOOR(contraction * ROUND(CAST(100 AS BIGNUMERIC), 0))
      WHEN MOD(FLOOR(contraction * ROUND(CAST(100 AS BIGNUMERIC), 0)), 2) = 0
      THEN FLOOR(contraction * ROUND(CAST(100 AS BIGNUMERIC), 0))
      ELSE FLOOR(contraction * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
    END * ROUND(CAST('0.01' AS BIGNUMERIC), 2) AS BIGNUMERIC),
    2
  ) AS contraction,
  ROUND(
    CAST(CASE
      WHEN churn * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(churn * ROUND(CAST(100 AS BIGNUMERIC), 0)) > 0.5
      THEN FLOOR(churn * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
      WHEN churn * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(churn * ROUND(CAST(100 AS BIGNUMERIC), 0)) < 0.5
      THEN FLOOR(churn * ROUND(CAST(100 AS BIGNUMERIC), 0))
      WHEN MOD(FLOOR(churn * ROUND(CAST(100 AS BIGNUMERIC), 0)), 2) = 0
      THEN FLOOR(churn * ROUND(CAST(100 AS BIGNUMERIC), 0))
      ELSE FLOOR(churn * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
    END * ROUND(CAST('0.01' AS BIGNUMERIC), 2) AS BIGNUMERIC),
    2
  ) AS churn,
  ROUND(
    CAST(CASE
      WHEN 2 * rest_nrr > starting_mrr
      THEN q_nrr + 1
      WHEN 2 * rest_nrr < starting_mrr
      THEN q_nrr
      WHEN MOD(q_nrr, 2) = 0
      THEN q_nrr
      ELSE q_nrr + 1
    END * ROUND(CAST('0.0001' AS BIGNUMERIC), 4) AS BIGNUMERIC),
    4
  ) AS nrr,
  ROUND(
    CAST(CASE
      WHEN 2 * rest_grr > starting_mrr
      THEN q_grr + 1
      WHEN 2 * rest_grr < starting_mrr
      THEN q_grr
      WHEN MOD(q_grr, 2) = 0
      THEN q_grr
      ELSE q_grr + 1
    END * ROUND(CAST('0.0001' AS BIGNUMERIC), 4) AS BIGNUMERIC),
    4
  ) AS grr,
  customers_start,
  customers_retained,
  ROUND(
    CAST(CASE
      WHEN 2 * rest_logo_retention > customers_start
      THEN q_logo_retention + 1
      WHEN 2 * rest_logo_retention < customers_start
      THEN q_logo_retention
      WHEN MOD(q_logo_retention, 2) = 0
      THEN q_logo_retention
      ELSE q_logo_retention + 1
    END * ROUND(CAST('0.0001' AS BIGNUMERIC), 4) AS BIGNUMERIC),
    4
  ) AS logo_retention,
  ROUND(
    CAST(CASE
      WHEN new_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(new_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) > 0.5
      THEN FLOOR(new_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
      WHEN new_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(new_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) < 0.5
      THEN FLOOR(new_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0))
      WHEN MOD(FLOOR(new_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)), 2) = 0
      THEN FLOOR(new_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0))
      ELSE FLOOR(new_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
    END * ROUND(CAST('0.01' AS BIGNUMERIC), 2) AS BIGNUMERIC),
    2
  ) AS new_mrr,
  ROUND(
    CAST(CASE
      WHEN reactivation_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(reactivation_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) > 0.5
      THEN FLOOR(reactivation_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
      WHEN reactivation_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0) - FLOOR(reactivation_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) < 0.5
      THEN FLOOR(reactivation_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0))
      WHEN MOD(FLOOR(reactivation_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)), 2) = 0
      THEN FLOOR(reactivation_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0))
      ELSE FLOOR(reactivation_mrr * ROUND(CAST(100 AS BIGNUMERIC), 0)) + 1
    END * ROUND(CAST('0.01' AS BIGNUMERIC), 2) AS BIGNUMERIC),
    2
  ) AS reactivation_mrr
FROM figures
ORDER BY
  segment ASC
