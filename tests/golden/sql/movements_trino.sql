WITH bridge_subscription_lines_typed AS (
  SELECT
    TRIM(CAST(customer_id AS VARCHAR)) AS customer_id,
    COALESCE(NULLIF(TRIM(CAST(product AS VARCHAR)), ''), 'default') AS product,
    COALESCE(NULLIF(UPPER(TRIM(CAST(currency AS VARCHAR))), ''), 'EUR') AS currency,
    CAST(NULLIF(TRIM(CAST(start_date AS VARCHAR)), '') AS DATE) AS start_date,
    CAST(NULLIF(TRIM(CAST(end_date AS VARCHAR)), '') AS DATE) AS end_date,
    CAST(TRIM(CAST(amount AS VARCHAR)) AS DECIMAL(38, 10)) AS amount,
    CASE LOWER(COALESCE(TRIM(CAST("interval" AS VARCHAR)), ''))
      WHEN ''
      THEN CAST(1 AS DECIMAL(38, 10))
      WHEN 'month'
      THEN CAST(1 AS DECIMAL(38, 10))
      WHEN 'quarter'
      THEN CAST(3 AS DECIMAL(38, 10))
      WHEN 'half_year'
      THEN CAST(6 AS DECIMAL(38, 10))
      WHEN 'year'
      THEN CAST(12 AS DECIMAL(38, 10))
      ELSE CAST(TRIM(CAST("interval" AS VARCHAR)) AS DECIMAL(38, 10))
    END AS interval_months
  FROM subscriptions
), bridge_subscription_lines_rough AS (
  SELECT
    customer_id,
    product,
    currency,
    CAST(EXTRACT(YEAR FROM start_date) * 12 + EXTRACT(MONTH FROM start_date) - 1 AS BIGINT) AS start_m,
    CAST(EXTRACT(YEAR FROM end_date) * 12 + EXTRACT(MONTH FROM end_date) - 1 AS BIGINT) AS end_m,
    amount,
    interval_months,
    CAST(CAST(amount AS DOUBLE) / CAST(interval_months AS DOUBLE) AS DECIMAL(21, 8)) AS approx
  FROM bridge_subscription_lines_typed AS typed
), bridge_subscription_lines AS (
  SELECT
    customer_id,
    currency,
    start_m,
    end_m,
    CAST(approx + CAST(CAST(amount - approx * interval_months AS DOUBLE) / CAST(interval_months AS DOUBLE) AS DECIMAL(20, 8)) AS DECIMAL(20, 8)) AS mrr_local,
    product
  FROM bridge_subscription_lines_rough AS rough
), bridge_rate_months AS (
  SELECT
    CAST(month AS BIGINT) AS month
  FROM (VALUES
    (24298),
    (24299),
    (24300),
    (24301),
    (24302),
    (24303),
    (24304),
    (24305),
    (24306),
    (24307),
    (24308),
    (24309),
    (24310),
    (24311)) AS v(month)
), bridge_valuation_given AS (
  SELECT
    UPPER(TRIM(CAST(currency AS VARCHAR))) AS currency,
    CAST(SUBSTR(TRIM(CAST("month" AS VARCHAR)), 1, 4) AS BIGINT) * 12 + CAST(SUBSTR(TRIM(CAST("month" AS VARCHAR)), 6, 2) AS BIGINT) - 1 AS month,
    CAST(TRIM(CAST(rate AS VARCHAR)) AS DECIMAL(17, 9)) AS rate
  FROM fx_rates
  WHERE
    UPPER(TRIM(CAST(currency AS VARCHAR))) <> 'EUR'
), bridge_valuation_asked AS (
  SELECT
    g.currency,
    c.month,
    MAX(CASE WHEN g.month <= c.month THEN g.month END) AS latest,
    MIN(g.month) AS earliest
  FROM bridge_valuation_given AS g
  CROSS JOIN bridge_rate_months AS c
  GROUP BY
    g.currency,
    c.month
), bridge_valuation AS (
  SELECT
    a.currency,
    a.month,
    g.rate
  FROM bridge_valuation_asked AS a
  JOIN bridge_valuation_given AS g
    ON g.currency = a.currency AND g.month = COALESCE(a.latest, a.earliest)
  UNION ALL
  SELECT
    'EUR' AS currency,
    month,
    CAST(1 AS DECIMAL(17, 9)) AS rate
  FROM bridge_rate_months AS calendar
), bridge_lines AS (
  SELECT
    l.customer_id,
    l.currency,
    l.start_m,
    l.end_m,
    l.mrr_local,
    l.product,
    COALESCE(
      CONCAT(
        CAST(LPAD(
          CAST(CAST(CAST(f.first_m - f.first_m % 12 AS DOUBLE) / 12 AS BIGINT) AS VARCHAR),
          4,
          '0'
        ) AS VARCHAR),
        CAST('-' AS VARCHAR),
        CAST(LPAD(CAST(f.first_m % 12 + 1 AS VARCHAR), 2, '0') AS VARCHAR)
      ),
      '(none)'
    ) AS segment
  FROM bridge_subscription_lines AS l
  LEFT JOIN (
    SELECT
      customer_id,
      MIN(start_m) AS first_m
    FROM bridge_subscription_lines AS lines
    WHERE
      mrr_local > 0 AND (
        end_m IS NULL OR end_m > start_m
      )
    GROUP BY
      customer_id
  ) AS f
    ON f.customer_id = l.customer_id
), bridge_bridge_rates AS (
  SELECT
    v.currency,
    v.month,
    v.rate,
    o.rate AS opening_rate
  FROM bridge_valuation AS v
  JOIN bridge_valuation AS o
    ON o.currency = v.currency AND o.month = v.month - 1
), bridge_calendar AS (
  SELECT
    CAST(month AS BIGINT) AS month
  FROM (VALUES
    (24299),
    (24300),
    (24301),
    (24302),
    (24303),
    (24304),
    (24305),
    (24306),
    (24307),
    (24308),
    (24309),
    (24310),
    (24311)) AS v(month)
), bridge_live AS (
  /* Lines that are in service in at least one month and carry MRR. */
  SELECT
    customer_id,
    segment,
    currency,
    start_m,
    end_m,
    mrr_local
  FROM bridge_lines AS lines
  WHERE
    mrr_local > 0 AND (
      end_m IS NULL OR end_m > start_m
    )
), bridge_events AS (
  SELECT
    customer_id,
    segment,
    currency,
    start_m AS month,
    mrr_local AS delta,
    1 AS lines
  FROM bridge_live AS live
  UNION ALL
  SELECT
    customer_id,
    segment,
    currency,
    end_m AS month,
    -mrr_local AS delta,
    -1 AS lines
  FROM bridge_live AS live
  WHERE
    NOT end_m IS NULL
), bridge_changes AS (
  /* Each customer's change in every month its lines change: in lines in service, and (in */
  /* the bridge's months) in MRR at the opening month's rates. */
  SELECT
    e.customer_id,
    e.segment,
    e.month,
    SUM(e.lines) AS line_change,
    CAST(SUM(CAST(e.delta AS DECIMAL(20, 9)) * r.opening_rate) AS DECIMAL(38, 18)) AS change
  FROM bridge_events AS e
  LEFT JOIN bridge_bridge_rates AS r
    ON r.currency = e.currency AND r.month = e.month AND e.month >= 24300
  GROUP BY
    e.customer_id,
    e.segment,
    e.month
), bridge_steps AS (
  SELECT
    customer_id,
    segment,
    month,
    change,
    SUM(line_change) OVER (
      PARTITION BY customer_id
      ORDER BY month ASC NULLS FIRST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) - line_change AS before,
    SUM(line_change) OVER (
      PARTITION BY customer_id
      ORDER BY month ASC NULLS FIRST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS after
  FROM bridge_changes AS changes
), bridge_starts_any_gap AS (
  /* Without a reactivation window any gap counts: every start but a customer's first is a */
  /* return. */
  SELECT
    customer_id,
    month,
    month > MIN(month) OVER (PARTITION BY customer_id) AS is_return
  FROM bridge_steps AS steps
  WHERE
    before = 0 AND after > 0
), bridge_starts_within_gap AS (
  /* With a window of :gap months, a start is a return when the customer stopped at most */
  /* :gap months before (a customer that stops in month c had its last MRR in c - 1). */
  SELECT
    customer_id,
    month,
    NOT last_stop IS NULL AND month - last_stop <= NULL AS is_return
  FROM (
    SELECT
      customer_id,
      month,
      before,
      after,
      MAX(CASE WHEN before > 0 AND after = 0 THEN month END) OVER (
        PARTITION BY customer_id
        ORDER BY month ASC NULLS FIRST
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ) AS last_stop
    FROM bridge_steps AS steps
  ) AS walked
  WHERE
    before = 0 AND after > 0
), bridge_movements AS (
  SELECT
    s.segment,
    s.month,
    CAST(SUM(
      CASE
        WHEN s.before = 0 AND s.after > 0 AND NOT b.is_return
        THEN s.change
        ELSE CAST(0 AS DECIMAL(38, 18))
      END
    ) AS DECIMAL(38, 18)) AS new,
    CAST(SUM(
      CASE
        WHEN s.before = 0 AND s.after > 0 AND b.is_return
        THEN s.change
        ELSE CAST(0 AS DECIMAL(38, 18))
      END
    ) AS DECIMAL(38, 18)) AS reactivation,
    CAST(SUM(
      CASE
        WHEN s.before > 0 AND s.after > 0 AND s.change > 0
        THEN s.change
        ELSE CAST(0 AS DECIMAL(38, 18))
      END
    ) AS DECIMAL(38, 18)) AS expansion,
    CAST(SUM(
      CASE
        WHEN s.before > 0 AND s.after > 0 AND s.change < 0
        THEN -s.change
        ELSE CAST(0 AS DECIMAL(38, 18))
      END
    ) AS DECIMAL(38, 18)) AS contraction,
    CAST(SUM(
      CASE
        WHEN s.before > 0 AND s.after = 0
        THEN -s.change
        ELSE CAST(0 AS DECIMAL(38, 18))
      END
    ) AS DECIMAL(38, 18)) AS churn
  FROM bridge_steps AS s
  LEFT JOIN bridge_starts_any_gap AS b
    ON b.customer_id = s.customer_id AND b.month = s.month
  WHERE
    s.month >= 24300 AND s.month <= 24311
  GROUP BY
    s.segment,
    s.month
), bridge_balances AS (
  /* Local MRR per slice and currency after each month it changes: running sums of the */
  /* changes, read at every month of the calendar. The changes are read from `live` */
  /* again rather than from `events`: an engine keeps a step read twice (DuckDB stores */
  /* its 4M rows at 1M customers), and this way `events` streams into `changes` (the */
  /* statement 20% faster there). */
  SELECT
    c.month,
    t.segment,
    t.currency,
    CAST(SUM(t.delta) AS DECIMAL(38, 8)) AS local_mrr
  FROM (
    SELECT
      segment,
      currency,
      month,
      SUM(delta) AS delta
    FROM (
      SELECT
        segment,
        currency,
        start_m AS month,
        mrr_local AS delta
      FROM bridge_live AS live
      UNION ALL
      SELECT
        segment,
        currency,
        end_m AS month,
        -mrr_local AS delta
      FROM bridge_live AS live
      WHERE
        NOT end_m IS NULL
    ) AS moved
    GROUP BY
      segment,
      currency,
      month
  ) AS t
  JOIN bridge_calendar AS c
    ON t.month <= c.month
  GROUP BY
    c.month,
    t.segment,
    t.currency
), bridge_levels AS (
  /* Closing MRR at the month's rates and at the previous month's. A sum of local MRR is */
  /* converted by the rate's whole part and the rest separately, so each product fits 38 */
  /* digits (METRICS.md: monthly totals below 10^15, rates below 10^8). */
  SELECT
    b.segment,
    b.month,
    CAST(SUM(
      CAST(CAST(b.local_mrr AS DECIMAL(24, 9)) * CAST(r.rate AS DECIMAL(9, 0)) AS DECIMAL(38, 18)) + CAST(CAST(b.local_mrr AS DECIMAL(24, 9)) * CAST(r.rate - CAST(r.rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9)) AS DECIMAL(38, 18))
    ) AS DECIMAL(38, 18)) AS closing,
    CAST(SUM(
      CAST(CAST(b.local_mrr AS DECIMAL(24, 9)) * CAST(r.opening_rate AS DECIMAL(9, 0)) AS DECIMAL(38, 18)) + CAST(CAST(b.local_mrr AS DECIMAL(24, 9)) * CAST(r.opening_rate - CAST(r.opening_rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9)) AS DECIMAL(38, 18))
    ) AS DECIMAL(38, 18)) AS closing_open
  FROM bridge_balances AS b
  JOIN bridge_bridge_rates AS r
    ON r.currency = b.currency AND r.month = b.month
  GROUP BY
    b.segment,
    b.month
), bridge_arrivals AS (
  /* +1 in the month a customer becomes active, -1 in the month it stops. */
  SELECT
    segment,
    month,
    SUM(CASE WHEN after > 0 THEN 1 ELSE 0 END - CASE WHEN before > 0 THEN 1 ELSE 0 END) AS change
  FROM bridge_steps AS steps
  GROUP BY
    segment,
    month
), bridge_active AS (
  SELECT
    a.segment,
    c.month,
    SUM(a.change) AS active_customers
  FROM bridge_arrivals AS a
  JOIN bridge_calendar AS c
    ON a.month <= c.month
  GROUP BY
    a.segment,
    c.month
), bridge_slices AS (
  /* Every slice with a line in service by the last month. */
  SELECT DISTINCT
    segment
  FROM bridge_live AS live
  WHERE
    start_m <= 24311
), bridge AS (
  SELECT
    g.segment,
    c.month,
    COALESCE(o.closing, CAST(0 AS DECIMAL(38, 18))) AS starting_mrr,
    COALESCE(l.closing, CAST(0 AS DECIMAL(38, 18))) - COALESCE(l.closing_open, CAST(0 AS DECIMAL(38, 18))) AS fx,
    COALESCE(m.new, CAST(0 AS DECIMAL(38, 18))) AS new,
    COALESCE(m.reactivation, CAST(0 AS DECIMAL(38, 18))) AS reactivation,
    COALESCE(m.expansion, CAST(0 AS DECIMAL(38, 18))) AS expansion,
    COALESCE(m.contraction, CAST(0 AS DECIMAL(38, 18))) AS contraction,
    COALESCE(m.churn, CAST(0 AS DECIMAL(38, 18))) AS churn,
    COALESCE(l.closing, CAST(0 AS DECIMAL(38, 18))) AS ending_mrr,
    COALESCE(a.active_customers, 0) AS active_customers
  FROM bridge_slices AS g
  CROSS JOIN bridge_calendar AS c
  LEFT JOIN bridge_levels AS l
    ON l.segment = g.segment AND l.month = c.month
  LEFT JOIN bridge_levels AS o
    ON o.segment = g.segment AND o.month = c.month - 1
  LEFT JOIN bridge_movements AS m
    ON m.segment = g.segment AND m.month = c.month
  LEFT JOIN bridge_active AS a
    ON a.segment = g.segment AND a.month = c.month
  WHERE
    c.month >= 24300
  ORDER BY
    g.segment ASC NULLS FIRST,
    c.month ASC
)
SELECT
  segment,
  CONCAT(
    CAST(LPAD(CAST(CAST(CAST(month - month % 12 AS DOUBLE) / 12 AS BIGINT) AS VARCHAR), 4, '0') AS VARCHAR),
    CAST('-' AS VARCHAR),
    CAST(LPAD(CAST(month % 12 + 1 AS VARCHAR), 2, '0') AS VARCHAR)
  ) AS month,
  CAST(CASE
    WHEN starting_mrr * CAST(100 AS DECIMAL(38, 0)) - FLOOR(starting_mrr * CAST(100 AS DECIMAL(38, 0))) > 0.5
    THEN FLOOR(starting_mrr * CAST(100 AS DECIMAL(38, 0))) + 1
    WHEN starting_mrr * CAST(100 AS DECIMAL(38, 0)) - FLOOR(starting_mrr * CAST(100 AS DECIMAL(38, 0))) < 0.5
    THEN FLOOR(starting_mrr * CAST(100 AS DECIMAL(38, 0)))
    WHEN FLOOR(starting_mrr * CAST(100 AS DECIMAL(38, 0))) % 2 = 0
    THEN FLOOR(starting_mrr * CAST(100 AS DECIMAL(38, 0)))
    ELSE FLOOR(starting_mrr * CAST(100 AS DECIMAL(38, 0))) + 1
  END * CAST('0.01' AS DECIMAL(3, 2)) AS DECIMAL(38, 2)) AS starting_mrr,
  CAST(CASE
    WHEN fx * CAST(100 AS DECIMAL(38, 0)) - FLOOR(fx * CAST(100 AS DECIMAL(38, 0))) > 0.5
    THEN FLOOR(fx * CAST(100 AS DECIMAL(38, 0))) + 1
    WHEN fx * CAST(100 AS DECIMAL(38, 0)) - FLOOR(fx * CAST(100 AS DECIMAL(38, 0))) < 0.5
    THEN FLOOR(fx * CAST(100 AS DECIMAL(38, 0)))
    WHEN FLOOR(fx * CAST(100 AS DECIMAL(38, 0))) % 2 = 0
    THEN FLOOR(fx * CAST(100 AS DECIMAL(38, 0)))
    ELSE FLOOR(fx * CAST(100 AS DECIMAL(38, 0))) + 1
  END * CAST('0.01' AS DECIMAL(3, 2)) AS DECIMAL(38, 2)) AS fx,
  CAST(CASE
    WHEN new * CAST(100 AS DECIMAL(38, 0)) - FLOOR(new * CAST(100 AS DECIMAL(38, 0))) > 0.5
    THEN FLOOR(new * CAST(100 AS DECIMAL(38, 0))) + 1
    WHEN new * CAST(100 AS DECIMAL(38, 0)) - FLOOR(new * CAST(100 AS DECIMAL(38, 0))) < 0.5
    THEN FLOOR(new * CAST(100 AS DECIMAL(38, 0)))
    WHEN FLOOR(new * CAST(100 AS DECIMAL(38, 0))) % 2 = 0
    THEN FLOOR(new * CAST(100 AS DECIMAL(38, 0)))
    ELSE FLOOR(new * CAST(100 AS DECIMAL(38, 0))) + 1
  END * CAST('0.01' AS DECIMAL(3, 2)) AS DECIMAL(38, 2)) AS new,
  CAST(CASE
    WHEN reactivation * CAST(100 AS DECIMAL(38, 0)) - FLOOR(reactivation * CAST(100 AS DECIMAL(38, 0))) > 0.5
    THEN FLOOR(reactivation * CAST(100 AS DECIMAL(38, 0))) + 1
    WHEN reactivation * CAST(100 AS DECIMAL(38, 0)) - FLOOR(reactivation * CAST(100 AS DECIMAL(38, 0))) < 0.5
    THEN FLOOR(reactivation * CAST(100 AS DECIMAL(38, 0)))
    WHEN FLOOR(reactivation * CAST(100 AS DECIMAL(38, 0))) % 2 = 0
    THEN FLOOR(reactivation * CAST(100 AS DECIMAL(38, 0)))
    ELSE FLOOR(reactivation * CAST(100 AS DECIMAL(38, 0))) + 1
  END * CAST('0.01' AS DECIMAL(3, 2)) AS DECIMAL(38, 2)) AS reactivation,
  CAST(CASE
    WHEN expansion * CAST(100 AS DECIMAL(38, 0)) - FLOOR(expansion * CAST(100 AS DECIMAL(38, 0))) > 0.5
    THEN FLOOR(expansion * CAST(100 AS DECIMAL(38, 0))) + 1
    WHEN expansion * CAST(100 AS DECIMAL(38, 0)) - FLOOR(expansion * CAST(100 AS DECIMAL(38, 0))) < 0.5
    THEN FLOOR(expansion * CAST(100 AS DECIMAL(38, 0)))
    WHEN FLOOR(expansion * CAST(100 AS DECIMAL(38, 0))) % 2 = 0
    THEN FLOOR(expansion * CAST(100 AS DECIMAL(38, 0)))
    ELSE FLOOR(expansion * CAST(100 AS DECIMAL(38, 0))) + 1
  END * CAST('0.01' AS DECIMAL(3, 2)) AS DECIMAL(38, 2)) AS expansion,
  CAST(CASE
    WHEN contraction * CAST(100 AS DECIMAL(38, 0)) - FLOOR(contraction * CAST(100 AS DECIMAL(38, 0))) > 0.5
    THEN FLOOR(contraction * CAST(100 AS DECIMAL(38, 0))) + 1
    WHEN contraction * CAST(100 AS DECIMAL(38, 0)) - FLOOR(contraction * CAST(100 AS DECIMAL(38, 0))) < 0.5
    THEN FLOOR(contraction * CAST(100 AS DECIMAL(38, 0)))
    WHEN FLOOR(contraction * CAST(100 AS DECIMAL(38, 0))) % 2 = 0
    THEN FLOOR(contraction * CAST(100 AS DECIMAL(38, 0)))
    ELSE FLOOR(contraction * CAST(100 AS DECIMAL(38, 0))) + 1
  END * CAST('0.01' AS DECIMAL(3, 2)) AS DECIMAL(38, 2)) AS contraction,
  CAST(CASE
    WHEN churn * CAST(100 AS DECIMAL(38, 0)) - FLOOR(churn * CAST(100 AS DECIMAL(38, 0))) > 0.5
    THEN FLOOR(churn * CAST(100 AS DECIMAL(38, 0))) + 1
    WHEN churn * CAST(100 AS DECIMAL(38, 0)) - FLOOR(churn * CAST(100 AS DECIMAL(38, 0))) < 0.5
    THEN FLOOR(churn * CAST(100 AS DECIMAL(38, 0)))
    WHEN FLOOR(churn * CAST(100 AS DECIMAL(38, 0))) % 2 = 0
    THEN FLOOR(churn * CAST(100 AS DECIMAL(38, 0)))
    ELSE FLOOR(churn * CAST(100 AS DECIMAL(38, 0))) + 1
  END * CAST('0.01' AS DECIMAL(3, 2)) AS DECIMAL(38, 2)) AS churn,
  CAST(CASE
    WHEN ending_mrr * CAST(100 AS DECIMAL(38, 0)) - FLOOR(ending_mrr * CAST(100 AS DECIMAL(38, 0))) > 0.5
    THEN FLOOR(ending_mrr * CAST(100 AS DECIMAL(38, 0))) + 1
    WHEN ending_mrr * CAST(100 AS DECIMAL(38, 0)) - FLOOR(ending_mrr * CAST(100 AS DECIMAL(38, 0))) < 0.5
    THEN FLOOR(ending_mrr * CAST(100 AS DECIMAL(38, 0)))
    WHEN FLOOR(ending_mrr * CAST(100 AS DECIMAL(38, 0))) % 2 = 0
    THEN FLOOR(ending_mrr * CAST(100 AS DECIMAL(38, 0)))
    ELSE FLOOR(ending_mrr * CAST(100 AS DECIMAL(38, 0))) + 1
  END * CAST('0.01' AS DECIMAL(3, 2)) AS DECIMAL(38, 2)) AS ending_mrr,
  active_customers
FROM bridge
ORDER BY
  segment NULLS FIRST,
  month
