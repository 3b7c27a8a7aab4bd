-- The windows of a rolling-retention series (METRICS.md section 4): for every month e and
-- length k asked for, the window of k months ending e (start s = e - k), per slice.
--
-- lines           (customer_id, currency, start_m, end_m, mrr_local): the checked lines, months
--                 as integers (year * 12 + month - 1)
-- windows         (e, k, s, valued_at): one row per window (k months ending e, starting
--                 s = e - k) and the month whose rates value its end side (e in spot mode, s in
--                 constant currency)
-- window_months   (e, k, s, month): each window with each month of (s, e], so a change is
--                 paired with the windows it falls in by equality (a hash join on the month,
--                 about 20% faster at 1M customers than a join on the range)
-- rolling_rates   (currency, month, rate): every currency's rate at each s and valued_at
-- profiles        (customer_id, first_m, profile): each customer with MRR, its first month
--                 with MRR, and its profile: a customer standing for every customer whose
--                 slice is named alike in every window
-- profile_slices  (profile, s, segment): each profile's slice in a window starting at s
--
-- Returns (e, k, segment, starting_mrr, ending_mrr, fx, expansion, contraction, churn,
-- customers_start, customers_retained) for every window and every slice with a customer at
-- either of its ends; starting_mrr, expansion, contraction and churn are NULL where no
-- customer adds to them.
--
-- Pairing every customer with every window would cost customers x windows. Instead:
-- - a customer whose MRR changes in some month of (s, e] is valued at both ends of that
--   window from its first and last change inside it, as window.sql values it: per customer
--   (`changed`) when it uses several currencies; when it uses one, its local MRR at both
--   ends is summed per window, profile and currency (`one_currency_sums`) and each sum is
--   valued once, which gives the same exact figures with far fewer rows to group and value;
-- - everyone else has the same MRR at s and at e: kept, with no expansion, contraction or
--   churn, and its MRR(s) valued at the end side. Their sums are everyone's MRR at s (running
--   sums of the changes per profile, as the bridge's balances) less the changed customers'.
-- So the work grows with the lines' changes times the window lengths, never with customers.
WITH live AS (
    -- Lines that are in service in at least one month and carry MRR.
    SELECT customer_id, currency, start_m, end_m, mrr_local
    FROM lines
    WHERE mrr_local > 0 AND (end_m IS NULL OR end_m > start_m)
),
events AS (
    SELECT customer_id, currency, start_m AS month, mrr_local AS delta
    FROM live
    UNION ALL
    SELECT customer_id, currency, end_m AS month, -mrr_local AS delta
    FROM live
    WHERE end_m IS NOT NULL
),
changes AS (
    -- Each customer's net change of local MRR per currency in every month it changes.
    SELECT customer_id, currency, month, CAST(SUM(delta) AS DECIMAL(38, 8)) AS delta
    FROM events
    GROUP BY customer_id, currency, month
    HAVING SUM(delta) <> 0
),
currencies_used AS (
    -- Every currency each customer uses, with the customer's profile and how many currencies
    -- it uses: a customer in one currency can be summed in it and valued once per profile.
    SELECT
        u.customer_id,
        u.currency,
        p.profile,
        CAST(COUNT(*) OVER (PARTITION BY u.customer_id) AS BIGINT) AS currencies
    FROM (SELECT DISTINCT customer_id, currency FROM changes) AS u
    JOIN profiles AS p ON p.customer_id = u.customer_id
),
grid AS (
    -- Every currency a customer uses, at every month its MRR changes in any of them: a window
    -- that sees one part of a customer's MRR change sees the whole of it.
    SELECT
        m.customer_id,
        u.profile,
        u.currency,
        u.currencies,
        m.month,
        COALESCE(c.delta, CAST(0 AS DECIMAL(38, 8))) AS delta
    FROM (SELECT DISTINCT customer_id, month FROM changes) AS m
    JOIN currencies_used AS u ON u.customer_id = m.customer_id
    LEFT JOIN changes AS c
        ON c.customer_id = m.customer_id AND c.currency = u.currency AND c.month = m.month
),
steps AS (
    -- Local MRR per currency just before and after each change, and the months of the
    -- previous and the next change.
    SELECT
        customer_id,
        profile,
        currency,
        currencies,
        month,
        delta,
        CAST(SUM(delta) OVER (
            PARTITION BY customer_id, currency ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) - delta AS DECIMAL(38, 8)) AS before,
        CAST(SUM(delta) OVER (
            PARTITION BY customer_id, currency ORDER BY month ASC NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS DECIMAL(38, 8)) AS after,
        LAG(month) OVER (
            PARTITION BY customer_id, currency ORDER BY month ASC NULLS FIRST
        ) AS prev_m,
        LEAD(month) OVER (
            PARTITION BY customer_id, currency ORDER BY month ASC NULLS FIRST
        ) AS next_m
    FROM grid
),
split_rates AS (
    -- Per window and currency, the rate of MRR(s) (s_) and of the end side (e_), each as its
    -- whole part and the rest, so that a sum of local MRR (below 10^15, METRICS.md) times
    -- either fits 38 digits on every engine, as in bridge.sql.
    SELECT
        w.e,
        w.k,
        w.s,
        a.currency,
        CAST(a.rate AS DECIMAL(9, 0)) AS s_whole,
        CAST(a.rate - CAST(a.rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9)) AS s_rest,
        CAST(b.rate AS DECIMAL(9, 0)) AS e_whole,
        CAST(b.rate - CAST(b.rate AS DECIMAL(9, 0)) AS DECIMAL(10, 9)) AS e_rest
    FROM windows AS w
    JOIN rolling_rates AS a ON a.month = w.s
    JOIN rolling_rates AS b ON b.currency = a.currency AND b.month = w.valued_at
),
starts AS (
    SELECT DISTINCT s FROM windows
),
window_ends AS (
    -- In every window (s, e] a customer in several currencies changes in, its first step there
    -- starts from its MRR at s and its last ends at its MRR at e (per currency).
    SELECT
        w.e,
        w.k,
        w.s,
        t.customer_id,
        t.profile,
        t.currency,
        CAST(CASE WHEN t.prev_m IS NULL OR t.prev_m <= w.s THEN t.before
            ELSE CAST(0 AS DECIMAL(38, 8)) END AS DECIMAL(24, 9)) AS local_s,
        CAST(CASE WHEN t.next_m IS NULL OR t.next_m > w.e THEN t.after
            ELSE CAST(0 AS DECIMAL(38, 8)) END AS DECIMAL(24, 9)) AS local_e
    FROM steps AS t
    JOIN window_months AS w ON w.month = t.month
    WHERE t.currencies > 1
        AND (t.prev_m IS NULL OR t.prev_m <= w.s OR t.next_m IS NULL OR t.next_m > w.e)
),
one_currency_ends AS (
    -- The same for a customer in one currency, in that currency, one row per window: where
    -- it steps once in the window, that step carries both ends (no grouping); else its first
    -- and last steps there are added together. Each join is read once, so no engine
    -- has to keep its rows.
    SELECT
        w.e,
        w.k,
        w.s,
        t.profile,
        t.currency,
        CAST(t.before AS DECIMAL(24, 9)) AS local_s,
        CAST(t.after AS DECIMAL(24, 9)) AS local_e
    FROM steps AS t
    JOIN window_months AS w ON w.month = t.month
    WHERE t.currencies = 1
        AND (t.prev_m IS NULL OR t.prev_m <= w.s)
        AND (t.next_m IS NULL OR t.next_m > w.e)
    UNION ALL
    SELECT
        w.e,
        w.k,
        w.s,
        t.profile,
        t.currency,
        CAST(SUM(CASE WHEN t.prev_m IS NULL OR t.prev_m <= w.s THEN t.before
            ELSE CAST(0 AS DECIMAL(38, 8)) END)
            AS DECIMAL(24, 9)) AS local_s,
        CAST(SUM(CASE WHEN t.next_m IS NULL OR t.next_m > w.e THEN t.after
            ELSE CAST(0 AS DECIMAL(38, 8)) END) AS DECIMAL(24, 9)) AS local_e
    FROM steps AS t
    JOIN window_months AS w ON w.month = t.month
    WHERE t.currencies = 1
        -- Its first step in a window it steps in again, or its last after another.
        AND ((t.prev_m IS NULL OR t.prev_m <= w.s) AND t.next_m <= w.e
            OR t.prev_m > w.s AND (t.next_m IS NULL OR t.next_m > w.e))
    GROUP BY w.e, w.k, w.s, t.customer_id, t.profile, t.currency
),
one_currency_sums AS (
    -- Their sums per window, profile and currency, still local: a rate is positive, so a
    -- value's sign and order are its local amount's, and a sum of exact products is the
    -- product of the sum; each sum is valued once below instead of once per customer.
    SELECT
        e,
        k,
        s,
        profile,
        currency,
        CAST(SUM(CASE WHEN local_s > 0 THEN local_s ELSE CAST(0 AS DECIMAL(24, 9)) END)
            AS DECIMAL(24, 9)) AS starting,
        CAST(SUM(CASE WHEN local_s > 0 THEN local_e ELSE CAST(0 AS DECIMAL(24, 9)) END)
            AS DECIMAL(24, 9)) AS ending,
        CAST(SUM(
            CASE WHEN local_s > 0 AND local_e > local_s THEN local_e - local_s
            ELSE CAST(0 AS DECIMAL(24, 9)) END
        ) AS DECIMAL(24, 9)) AS expansion,
        CAST(SUM(
            CASE WHEN local_s > 0 AND local_e > 0 AND local_s > local_e THEN local_s - local_e
            ELSE CAST(0 AS DECIMAL(24, 9)) END
        ) AS DECIMAL(24, 9)) AS contraction,
        CAST(SUM(CASE WHEN local_s > 0 AND local_e = 0 THEN local_s
            ELSE CAST(0 AS DECIMAL(24, 9)) END) AS DECIMAL(24, 9)) AS churn,
        CAST(SUM(CASE WHEN local_s > 0 THEN 1 ELSE 0 END) AS BIGINT) AS customers_start,
        CAST(SUM(CASE WHEN local_s > 0 AND local_e > 0 THEN 1 ELSE 0 END) AS BIGINT)
            AS customers_retained,
        CAST(SUM(CASE WHEN local_e > 0 THEN 1 ELSE 0 END) AS BIGINT) AS customers_end
    FROM one_currency_ends
    GROUP BY e, k, s, profile, currency
),
one_currency_totals AS (
    -- Those sums valued (s_ at s, e_ at the end side), as changed_totals sums the changed
    -- customers: MRR(s) at the end side is what comes off everyone's.
    SELECT
        v.e,
        v.k,
        v.s,
        v.profile,
        CAST(
            CAST(v.starting * r.s_whole AS DECIMAL(38, 18))
            + CAST(v.starting * r.s_rest AS DECIMAL(38, 18))
        AS DECIMAL(38, 18)) AS starting_mrr,
        CAST(
            CAST(v.ending * r.e_whole AS DECIMAL(38, 18))
            + CAST(v.ending * r.e_rest AS DECIMAL(38, 18))
        AS DECIMAL(38, 18)) AS ending_mrr,
        CAST(
            (CAST(v.ending * r.e_whole AS DECIMAL(38, 18))
                + CAST(v.ending * r.e_rest AS DECIMAL(38, 18)))
            - (CAST(v.ending * r.s_whole AS DECIMAL(38, 18))
                + CAST(v.ending * r.s_rest AS DECIMAL(38, 18)))
        AS DECIMAL(38, 18)) AS fx,
        CAST(
            CAST(v.expansion * r.s_whole AS DECIMAL(38, 18))
            + CAST(v.expansion * r.s_rest AS DECIMAL(38, 18))
        AS DECIMAL(38, 18)) AS expansion,
        CAST(
            CAST(v.contraction * r.s_whole AS DECIMAL(38, 18))
            + CAST(v.contraction * r.s_rest AS DECIMAL(38, 18))
        AS DECIMAL(38, 18)) AS contraction,
        CAST(
            CAST(v.churn * r.s_whole AS DECIMAL(38, 18))
            + CAST(v.churn * r.s_rest AS DECIMAL(38, 18))
        AS DECIMAL(38, 18)) AS churn,
        CAST(
            CAST(v.starting * r.e_whole AS DECIMAL(38, 18))
            + CAST(v.starting * r.e_rest AS DECIMAL(38, 18))
        AS DECIMAL(38, 18)) AS start_moved,
        v.customers_start,
        v.customers_retained,
        v.customers_end
    FROM one_currency_sums AS v
    JOIN split_rates AS r ON r.e = v.e AND r.k = v.k AND r.currency = v.currency
),
changed AS (
    -- The values of the changed customers in several currencies as window.sql gives them
    -- (s_s, e_s, e_e), and s_x, their MRR(s) valued at the end side, which comes off
    -- everyone's.
    SELECT
        v.e,
        v.k,
        v.s,
        v.customer_id,
        v.profile,
        CAST(SUM(
            CAST(v.local_s * r.s_whole AS DECIMAL(38, 18))
            + CAST(v.local_s * r.s_rest AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS s_s,
        CAST(SUM(
            CAST(v.local_e * r.s_whole AS DECIMAL(38, 18))
            + CAST(v.local_e * r.s_rest AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS e_s,
        CAST(SUM(
            CAST(v.local_e * r.e_whole AS DECIMAL(38, 18))
            + CAST(v.local_e * r.e_rest AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS e_e,
        CAST(SUM(
            CAST(v.local_s * r.e_whole AS DECIMAL(38, 18))
            + CAST(v.local_s * r.e_rest AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS s_x
    FROM window_ends AS v
    JOIN split_rates AS r ON r.e = v.e AND r.k = v.k AND r.currency = v.currency
    GROUP BY v.e, v.k, v.s, v.customer_id, v.profile
),
several_currencies_totals AS (
    -- window_totals.sql's sums over those customers per window and profile, with the
    -- customers at the end and the cohort's MRR(s) at the end side.
    SELECT
        e,
        k,
        s,
        profile,
        CAST(SUM(CASE WHEN s_s > 0 THEN s_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS starting_mrr,
        CAST(SUM(CASE WHEN s_s > 0 THEN e_e ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS ending_mrr,
        CAST(SUM(CASE WHEN s_s > 0 THEN e_e - e_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS fx,
        CAST(SUM(
            CASE WHEN s_s > 0 AND e_s > s_s THEN e_s - s_s
            ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS expansion,
        CAST(SUM(
            CASE WHEN s_s > 0 AND e_e > 0 AND s_s > e_s THEN s_s - e_s
            ELSE CAST(0 AS DECIMAL(38, 18)) END
        ) AS DECIMAL(38, 18)) AS contraction,
        CAST(SUM(CASE WHEN s_s > 0 AND e_e = 0 THEN s_s ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS churn,
        CAST(SUM(CASE WHEN s_s > 0 THEN s_x ELSE CAST(0 AS DECIMAL(38, 18)) END)
            AS DECIMAL(38, 18)) AS start_moved,
        CAST(SUM(CASE WHEN s_s > 0 THEN 1 ELSE 0 END) AS BIGINT) AS customers_start,
        CAST(SUM(CASE WHEN s_s > 0 AND e_e > 0 THEN 1 ELSE 0 END) AS BIGINT)
            AS customers_retained,
        CAST(SUM(CASE WHEN e_e > 0 THEN 1 ELSE 0 END) AS BIGINT) AS customers_end
    FROM changed
    GROUP BY e, k, s, profile
),
changed_totals AS (
    -- The changed customers' sums per window and slice.
    SELECT
        c.e,
        c.k,
        g.segment,
        CAST(SUM(c.starting_mrr) AS DECIMAL(38, 18)) AS starting_mrr,
        CAST(SUM(c.ending_mrr) AS DECIMAL(38, 18)) AS ending_mrr,
        CAST(SUM(c.fx) AS DECIMAL(38, 18)) AS fx,
        CAST(SUM(c.expansion) AS DECIMAL(38, 18)) AS expansion,
        CAST(SUM(c.contraction) AS DECIMAL(38, 18)) AS contraction,
        CAST(SUM(c.churn) AS DECIMAL(38, 18)) AS churn,
        CAST(SUM(c.start_moved) AS DECIMAL(38, 18)) AS start_moved,
        CAST(SUM(c.customers_start) AS BIGINT) AS customers_start,
        CAST(SUM(c.customers_retained) AS BIGINT) AS customers_retained,
        CAST(SUM(c.customers_end) AS BIGINT) AS customers_end
    FROM (
        SELECT
            e, k, s, profile, starting_mrr, ending_mrr, fx, expansion, contraction, churn,
            start_moved, customers_start, customers_retained, customers_end
        FROM one_currency_totals
        UNION ALL
        SELECT
            e, k, s, profile, starting_mrr, ending_mrr, fx, expansion, contraction, churn,
            start_moved, customers_start, customers_retained, customers_end
        FROM several_currencies_totals
    ) AS c
    JOIN profile_slices AS g ON g.profile = c.profile AND g.s = c.s
    GROUP BY c.e, c.k, g.segment
),
profile_changes AS (
    SELECT profile, currency, month, CAST(SUM(delta) AS DECIMAL(38, 8)) AS delta
    FROM steps
    GROUP BY profile, currency, month
),
openings AS (
    -- Everyone's local MRR at every start month, per profile and currency.
    SELECT t.s, c.profile, c.currency, CAST(SUM(c.delta) AS DECIMAL(24, 9)) AS local_mrr
    FROM profile_changes AS c
    JOIN starts AS t ON c.month <= t.s
    GROUP BY t.s, c.profile, c.currency
),
opening_values AS (
    -- Everyone's MRR(s) per window and slice, valued at s and at the end side.
    SELECT
        r.e,
        r.k,
        r.s,
        g.segment,
        CAST(SUM(
            CAST(o.local_mrr * r.s_whole AS DECIMAL(38, 18))
            + CAST(o.local_mrr * r.s_rest AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS at_start,
        CAST(SUM(
            CAST(o.local_mrr * r.e_whole AS DECIMAL(38, 18))
            + CAST(o.local_mrr * r.e_rest AS DECIMAL(38, 18))
        ) AS DECIMAL(38, 18)) AS at_end_side
    FROM openings AS o
    JOIN split_rates AS r ON r.s = o.s AND r.currency = o.currency
    JOIN profile_slices AS g ON g.profile = o.profile AND g.s = o.s
    GROUP BY r.e, r.k, r.s, g.segment
),
customer_moves AS (
    -- Whether each customer has MRR before and after each month it changes (the sums mix
    -- currencies: only their sign means anything).
    SELECT customer_id, profile, month, SUM(before) AS before, SUM(after) AS after
    FROM steps
    GROUP BY customer_id, profile, month
),
arrivals AS (
    -- +1 in the month a customer becomes active, -1 in the month it stops.
    SELECT
        profile,
        month,
        SUM(CASE WHEN after > 0 THEN 1 ELSE 0 END - CASE WHEN before > 0 THEN 1 ELSE 0 END)
            AS change
    FROM customer_moves
    GROUP BY profile, month
),
active AS (
    -- Customers with MRR at every start month, per slice.
    SELECT t.s, g.segment, SUM(a.change) AS customers
    FROM arrivals AS a
    JOIN starts AS t ON a.month <= t.s
    JOIN profile_slices AS g ON g.profile = a.profile AND g.s = t.s
    GROUP BY t.s, g.segment
),
named AS (
    -- The slices the engine would list from per-customer rows: those with a customer that
    -- has MRR at the window's start or at its end.
    SELECT o.e, o.k, o.segment
    FROM opening_values AS o
    JOIN active AS a ON a.s = o.s AND a.segment = o.segment
    WHERE a.customers > 0
    UNION
    SELECT e, k, segment
    FROM changed_totals
    WHERE customers_start > 0 OR customers_end > 0
)
SELECT
    n.e,
    n.k,
    n.segment,
    o.at_start AS starting_mrr,
    -- The unchanged customers' MRR(e) is their MRR(s) at the end side.
    CAST(
        COALESCE(o.at_end_side, CAST(0 AS DECIMAL(38, 18)))
        - COALESCE(c.start_moved, CAST(0 AS DECIMAL(38, 18)))
        + COALESCE(c.ending_mrr, CAST(0 AS DECIMAL(38, 18)))
    AS DECIMAL(38, 18)) AS ending_mrr,
    -- Their fx revalues MRR(s), which is their MRR(e) too.
    CAST(
        (COALESCE(o.at_end_side, CAST(0 AS DECIMAL(38, 18)))
            - COALESCE(c.start_moved, CAST(0 AS DECIMAL(38, 18))))
        - (COALESCE(o.at_start, CAST(0 AS DECIMAL(38, 18)))
            - COALESCE(c.starting_mrr, CAST(0 AS DECIMAL(38, 18))))
        + COALESCE(c.fx, CAST(0 AS DECIMAL(38, 18)))
    AS DECIMAL(38, 18)) AS fx,
    c.expansion,
    c.contraction,
    c.churn,
    COALESCE(a.customers, 0) AS customers_start,
    COALESCE(a.customers, 0) - COALESCE(c.customers_start, 0)
        + COALESCE(c.customers_retained, 0) AS customers_retained
FROM named AS n
LEFT JOIN opening_values AS o ON o.e = n.e AND o.k = n.k AND o.segment = n.segment
LEFT JOIN changed_totals AS c ON c.e = n.e AND c.k = n.k AND c.segment = n.segment
LEFT JOIN active AS a ON a.s = n.e - n.k AND a.segment = n.segment
ORDER BY n.e ASC NULLS LAST, n.k ASC NULLS LAST, n.segment ASC NULLS LAST
