-- Signup cohorts (docs/trends-and-cohorts.md): each cohort's size, first-month MRR, and MRR
-- and active members at the last month of every period from its own signup period's.
--
-- lines            (customer_id, currency, start_m, end_m, mrr_local): the checked lines,
--                  months as integers (year * 12 + month - 1)
-- cohort_rates     (currency, month, rate): each currency's rate at every month a cohort can
--                  start in or be measured at
-- cohort_calendar  (month): the last month of every period a cohort can be measured at
--
-- A cohort is a period of :size months (1, 3 or 12) numbered from month 0 (a month's period
-- is month / :size); a customer's is the period of its first month with MRR. Only cohorts
-- from :since_period (NULL: any) to :last_period are kept.
--
-- Returns (cohort, customers, first_month_mrr, month, mrr, active), one row per cohort and
-- calendar month from the end of its own period (month NULL for a cohort with none): MRR at
-- that month's rates. As in bridge.sql, levels are running sums of the changes per cohort,
-- never one row per customer and month.
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT customer_id, currency, start_m, end_m, mrr_local
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
events AS (
    SELECT customer_id, currency, start_m AS month, mrr_local AS delta, 1 AS lines
    FROM live
    UNION ALL
    SELECT customer_id, currency, end_m AS month, -mrr_local AS delta, -1 AS lines
    FROM live
    WHERE end_m IS NOT NULL
),
members AS (
    -- The period of a month, dividing an exact multiple of :size in doubles (integer division
    -- means different things on different engines).
    SELECT customer_id, first_m, cohort
    FROM (
        SELECT
            customer_id,
            first_m,
            CAST(CAST(first_m - MOD(first_m, :size) AS DOUBLE) / CAST(:size AS DOUBLE) AS BIGINT)
                AS cohort
        FROM (
            SELECT customer_id, MIN(start_m) AS first_m
            FROM live
            GROUP BY customer_id
        ) AS firsts
    ) AS periods
    WHERE cohort <= :last_period
        AND (CAST(:since_period AS BIGINT) IS NULL OR cohort >= CAST(:since_period AS BIGINT))
),
member_events AS (
    -- The members' changes with their cohort: joined once, read by the three sums below.
    SELECT e.customer_id, m.cohort, m.first_m, e.currency, e.month, e.delta, e.lines
    FROM events AS e
    JOIN members AS m ON m.customer_id = e.customer_id
),
member_changes AS (
    SELECT cohort, currency, month, CAST(SUM(delta) AS DECIMAL(38, 8)) AS delta
    FROM member_events
    GROUP BY cohort, currency, month
),
measured AS (
    -- The calendar months each cohort is measured at: from the end of its own period.
    SELECT z.cohort, c.month
    FROM (SELECT DISTINCT cohort FROM members) AS z
    JOIN cohort_calendar AS c ON z.cohort * :size + :size - 1 <= c.month
),
levels AS (
    -- Each cohort's local MRR per currency at every month it is measured at.
    SELECT t.month, d.cohort, d.currency, CAST(SUM(d.delta) AS DECIMAL(24, 9)) AS local_mrr
    FROM member_changes AS d
    JOIN measured AS t ON t.cohort = d.cohort AND d.month <= t.month
    GROUP BY t.month, d.cohort, d.currency
),
valued AS (
    -- A sum of local MRR times the rate's whole part and the rest separately, so each product
    -- fits 38 digits (as in bridge.sql).
    SELECT
        l.cohort,
        l.month,
        CAST(SUM(
            CAST(l.local_mrr * CAST(r.rate AS DECIMAL(9, 0)) AS DECIMAL(38, 18))
            + CAST(l.local_mrr * CAST(r.rate - CAST(r.rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9))
                AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS mrr
    FROM levels AS l
    JOIN cohort_rates AS r ON r.currency = l.currency AND r.month = l.month
    GROUP BY l.cohort, l.month
),
line_changes AS (
    -- Each member's change in lines in service in every month its lines change.
    SELECT customer_id, cohort, month, SUM(lines) AS line_change
    FROM member_events
    GROUP BY customer_id, cohort, month
),
customer_steps AS (
    -- Whether each member has a line in service (has MRR) before and after those months.
    SELECT
        cohort,
        month,
        SUM(line_change) OVER (
            PARTITION BY customer_id ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) - line_change AS before,
        SUM(line_change) OVER (
            PARTITION BY customer_id ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS after
    FROM line_changes
),
arrivals AS (
    -- +1 in the month a member becomes active, -1 in the month it stops.
    SELECT
        cohort,
        month,
        SUM(CASE WHEN after > 0 THEN 1 ELSE 0 END - CASE WHEN before > 0 THEN 1 ELSE 0 END)
            AS change
    FROM customer_steps
    GROUP BY cohort, month
),
active AS (
    SELECT t.cohort, t.month, SUM(a.change) AS active
    FROM arrivals AS a
    JOIN measured AS t ON t.cohort = a.cohort AND a.month <= t.month
    GROUP BY t.cohort, t.month
),
bases AS (
    -- A member's MRR in its first month is its changes in that month: it had no MRR before,
    -- and no line can end in the month its first line starts.
    SELECT
        f.cohort,
        CAST(SUM(
            CAST(f.local_mrr * CAST(r.rate AS DECIMAL(9, 0)) AS DECIMAL(38, 18))
            + CAST(f.local_mrr * CAST(r.rate - CAST(r.rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9))
                AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS first_month_mrr
    FROM (
        SELECT cohort, currency, month, CAST(SUM(delta) AS DECIMAL(24, 9)) AS local_mrr
        FROM member_events
        WHERE month = first_m
        GROUP BY cohort, currency, month
    ) AS f
    JOIN cohort_rates AS r ON r.currency = f.currency AND r.month = f.month
    GROUP BY f.cohort
),
sizes AS (
    SELECT cohort, COUNT(*) AS customers
    FROM members
    GROUP BY cohort
)
SELECT z.cohort, z.customers, b.first_month_mrr, t.month, v.mrr, a.active
FROM sizes AS z
LEFT JOIN bases AS b ON b.cohort = z.cohort
LEFT JOIN measured AS t ON t.cohort = z.cohort
LEFT JOIN valued AS v ON v.cohort = t.cohort AND v.month = t.month
LEFT JOIN active AS a ON a.cohort = t.cohort AND a.month = t.month
ORDER BY z.cohort ASC NULLS LAST, t.month ASC NULLS LAST
