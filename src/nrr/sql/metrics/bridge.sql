-- The monthly MRR bridge per slice, for months :first to :last (METRICS.md section 3).
--
-- lines         (customer_id, currency, start_m, end_m, mrr_local, segment): the checked lines,
--               months as integers (year * 12 + month - 1), each with its customer's slice
-- bridge_rates  (currency, month, rate, opening_rate) for months :first - 1 to :last: each
--               month's rate and the previous month's, the rates its movements are valued at
-- calendar      (month): the months :first - 1 to :last
-- starts        starts_any_gap or starts_within_gap below: whether a start is a return
--
-- A line changes its customer's MRR at two month boundaries only, so everything is computed
-- from those changes, never from one row per line per month. A customer's movement in month m
-- is the sum of its lines' changes valued at m-1's rates (constant currency), and whether it
-- had MRR before and after is whether it had a line in service (a running count), so no
-- running balance of money is needed per customer. Opening and closing balances are running
-- sums per slice and currency, valued at each month's rates and at the previous month's: their
-- difference is the revaluation of the closing position, the `fx` term.
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT customer_id, segment, currency, start_m, end_m, mrr_local
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
events AS (
    SELECT customer_id, segment, currency, start_m AS month, mrr_local AS delta, 1 AS lines
    FROM live
    UNION ALL
    SELECT customer_id, segment, currency, end_m AS month, -mrr_local AS delta, -1 AS lines
    FROM live
    WHERE end_m IS NOT NULL
),
changes AS (
    -- Each customer's change in every month its lines change: in lines in service, and (in
    -- the bridge's months) in MRR at the opening month's rates.
    SELECT
        e.customer_id,
        e.segment,
        e.month,
        SUM(e.lines) AS line_change,
        CAST(SUM(CAST(e.delta AS DECIMAL(20, 9)) * r.opening_rate) AS DECIMAL(38, 18)) AS change
    FROM events AS e
    LEFT JOIN bridge_rates AS r
        ON r.currency = e.currency AND r.month = e.month AND e.month >= :first
    GROUP BY e.customer_id, e.segment, e.month
),
steps AS (
    SELECT
        customer_id,
        segment,
        month,
        change,
        SUM(line_change) OVER (
            PARTITION BY customer_id ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) - line_change AS before,
        SUM(line_change) OVER (
            PARTITION BY customer_id ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS after
    FROM changes
),
starts_any_gap AS (
    -- Without a reactivation window any gap counts: every start but a customer's first is a
    -- return.
    SELECT
        customer_id,
        month,
        month > MIN(month) OVER (PARTITION BY customer_id) AS is_return
    FROM steps
    WHERE before = 0 AND after > 0
),
starts_within_gap AS (
    -- With a window of :gap months, a start is a return when the customer stopped at most
    -- :gap months before (a customer that stops in month c had its last MRR in c - 1).
    SELECT
        customer_id,
        month,
        last_stop IS NOT NULL AND month - last_stop <= :gap AS is_return
    FROM (
        SELECT
            customer_id,
            month,
            before,
            after,
            MAX(CASE WHEN before > 0 AND after = 0 THEN month END) OVER (
                PARTITION BY customer_id ORDER BY month ASC NULLS FIRST
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ) AS last_stop
        FROM steps
    ) AS walked
    WHERE before = 0 AND after > 0
),
movements AS (
    SELECT
        s.segment,
        s.month,
        CAST(SUM(
            CASE WHEN s.before = 0 AND s.after > 0 AND NOT b.is_return THEN s.change
            ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS new,
        CAST(SUM(
            CASE WHEN s.before = 0 AND s.after > 0 AND b.is_return THEN s.change
            ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS reactivation,
        CAST(SUM(
            CASE WHEN s.before > 0 AND s.after > 0 AND s.change > 0 THEN s.change
            ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS expansion,
        CAST(SUM(
            CASE WHEN s.before > 0 AND s.after > 0 AND s.change < 0 THEN -s.change
            ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS contraction,
        CAST(SUM(
            CASE WHEN s.before > 0 AND s.after = 0 THEN -s.change
            ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS churn
    FROM steps AS s
    LEFT JOIN starts AS b ON b.customer_id = s.customer_id AND b.month = s.month
    WHERE s.month >= :first AND s.month <= :last
    GROUP BY s.segment, s.month
),
balances AS (
    -- Local MRR per slice and currency after each month it changes: running sums of the
    -- changes, read at every month of the calendar. The changes are read from `live`
    -- again rather than from `events`: an engine keeps a step read twice (DuckDB stores
    -- its 4M rows at 1M customers), and this way `events` streams into `changes` (the
    -- statement 20% faster there).
    SELECT c.month, t.segment, t.currency, CAST(SUM(t.delta) AS DECIMAL(38, 8)) AS local_mrr
    FROM (
        SELECT segment, currency, month, SUM(delta) AS delta
        FROM (
            SELECT segment, currency, start_m AS month, mrr_local AS delta
            FROM live
            UNION ALL
            SELECT segment, currency, end_m AS month, -mrr_local AS delta
            FROM live
            WHERE end_m IS NOT NULL
        ) AS moved
        GROUP BY segment, currency, month
    ) AS t
    JOIN calendar AS c ON t.month <= c.month
    GROUP BY c.month, t.segment, t.currency
),
levels AS (
    -- Closing MRR at the month's rates and at the previous month's. A sum of local MRR is
    -- converted by the rate's whole part and the rest separately, so each product fits 38
    -- digits (METRICS.md: monthly totals below 10^15, rates below 10^8).
    SELECT
        b.segment,
        b.month,
        CAST(SUM(
            CAST(CAST(b.local_mrr AS DECIMAL(24, 9)) * CAST(r.rate AS DECIMAL(9, 0))
                AS DECIMAL(38, 18))
            + CAST(CAST(b.local_mrr AS DECIMAL(24, 9))
                * CAST(r.rate - CAST(r.rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9))
                AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS closing,
        CAST(SUM(
            CAST(CAST(b.local_mrr AS DECIMAL(24, 9)) * CAST(r.opening_rate AS DECIMAL(9, 0))
                AS DECIMAL(38, 18))
            + CAST(CAST(b.local_mrr AS DECIMAL(24, 9))
                * CAST(r.opening_rate - CAST(r.opening_rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9))
                AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS closing_open
    FROM balances AS b
    JOIN bridge_rates AS r ON r.currency = b.currency AND r.month = b.month
    GROUP BY b.segment, b.month
),
arrivals AS (
    -- +1 in the month a customer becomes active, -1 in the month it stops.
    SELECT
        segment,
        month,
        SUM(
            CASE WHEN after > 0 THEN 1 ELSE 0 END - CASE WHEN before > 0 THEN 1 ELSE 0 END
        ) AS change
    FROM steps
    GROUP BY segment, month
),
active AS (
    SELECT a.segment, c.month, SUM(a.change) AS active_customers
    FROM arrivals AS a
    JOIN calendar AS c ON a.month <= c.month
    GROUP BY a.segment, c.month
),
slices AS (
    -- Every slice with a line in service by the last month.
    SELECT DISTINCT segment FROM live WHERE start_m <= :last
)
SELECT
    g.segment,
    c.month,
    COALESCE(o.closing, CAST(0 AS DECIMAL(38, 18))) AS starting_mrr,
    COALESCE(l.closing, CAST(0 AS DECIMAL(38, 18)))
        - COALESCE(l.closing_open, CAST(0 AS DECIMAL(38, 18))) AS fx,
    COALESCE(m.new, CAST(0 AS DECIMAL(38, 18))) AS new,
    COALESCE(m.reactivation, CAST(0 AS DECIMAL(38, 18))) AS reactivation,
    COALESCE(m.expansion, CAST(0 AS DECIMAL(38, 18))) AS expansion,
    COALESCE(m.contraction, CAST(0 AS DECIMAL(38, 18))) AS contraction,
    COALESCE(m.churn, CAST(0 AS DECIMAL(38, 18))) AS churn,
    COALESCE(l.closing, CAST(0 AS DECIMAL(38, 18))) AS ending_mrr,
    COALESCE(a.active_customers, 0) AS active_customers
FROM slices AS g
CROSS JOIN calendar AS c
LEFT JOIN levels AS l ON l.segment = g.segment AND l.month = c.month
LEFT JOIN levels AS o ON o.segment = g.segment AND o.month = c.month - 1
LEFT JOIN movements AS m ON m.segment = g.segment AND m.month = c.month
LEFT JOIN active AS a ON a.segment = g.segment AND a.month = c.month
WHERE c.month >= :first
ORDER BY g.segment ASC NULLS FIRST, c.month ASC NULLS LAST
