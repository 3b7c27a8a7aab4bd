-- The reconciliation of the cohort and bridge-sum methods over a window (:s, :e]
-- (docs/analysis.md): each customer's movement netted over the window beside the sum of its
-- monthly movements, totalled for the cohort (in_cohort) and for everyone else.
--
-- customer_values  (customer_id, s_s, e_s, e_e, first_m): window.sql's rows at spot rates:
--                  MRR(s) at s's rates, MRR(e) at s's rates, MRR(e) at e's rates
-- movements        (customer_id, month, prev, cur, new, reactivation, expansion, contraction,
--                  churn): customer_movements.sql's rows for the months :s + 1 to :e
--
-- Returns one row per group: in_cohort, customers, starting, ending, retimed (customers whose
-- monthly movements differ from their netted ones), comebacks and comeback_customers (new and
-- reactivation), and fx, expansion, contraction, churn summed month by month beside fx_net,
-- expansion_net, contraction_net, churn_net netted per customer.
--
-- A difference of two 38-digit decimals is cast back to DECIMAL(38, 18) before it is used
-- again: Spark gives it one decimal less, exact once (money never has more than 17) but not
-- twice.
WITH summed AS (
    -- A month's movement is cur - prev: exactly one kind is non-zero, and it is that change.
    SELECT
        customer_id,
        CAST(SUM(new) AS DECIMAL(38, 18)) AS new,
        CAST(SUM(reactivation) AS DECIMAL(38, 18)) AS reactivation,
        CAST(SUM(expansion) AS DECIMAL(38, 18)) AS expansion,
        CAST(SUM(contraction) AS DECIMAL(38, 18)) AS contraction,
        CAST(SUM(churn) AS DECIMAL(38, 18)) AS churn,
        CAST(SUM(CAST(cur - prev AS DECIMAL(38, 18))) AS DECIMAL(38, 18)) AS moved
    FROM movements
    GROUP BY customer_id
),
per_customer AS (
    SELECT
        COALESCE(v.s_s, CAST(0 AS DECIMAL(38, 18))) AS s_s,
        COALESCE(v.e_s, CAST(0 AS DECIMAL(38, 18))) AS e_s,
        COALESCE(v.e_e, CAST(0 AS DECIMAL(38, 18))) AS e_e,
        COALESCE(m.new, CAST(0 AS DECIMAL(38, 18))) AS new,
        COALESCE(m.reactivation, CAST(0 AS DECIMAL(38, 18))) AS reactivation,
        COALESCE(m.expansion, CAST(0 AS DECIMAL(38, 18))) AS expansion,
        COALESCE(m.contraction, CAST(0 AS DECIMAL(38, 18))) AS contraction,
        COALESCE(m.churn, CAST(0 AS DECIMAL(38, 18))) AS churn,
        COALESCE(m.moved, CAST(0 AS DECIMAL(38, 18))) AS moved
    FROM customer_values AS v
    FULL OUTER JOIN summed AS m ON m.customer_id = v.customer_id
),
netted AS (
    -- A customer's monthly fx is what the identity leaves: MRR(e at e) - MRR(s at s) is the
    -- sum of its monthly fx and movements, new and reactivation included. Netted over the
    -- window, its movement compares MRR(s) and MRR(e) at s's rates, as the cohort method does.
    SELECT
        s_s,
        e_e,
        s_s > 0 AS in_cohort,
        CAST(new + reactivation AS DECIMAL(38, 18)) AS came_back,
        CAST(CAST(e_e - s_s AS DECIMAL(38, 18)) - moved AS DECIMAL(38, 18)) AS fx,
        expansion,
        contraction,
        churn,
        CAST(e_e - e_s AS DECIMAL(38, 18)) AS fx_net,
        CASE WHEN e_s > s_s THEN CAST(e_s - s_s AS DECIMAL(38, 18))
        ELSE CAST(0 AS DECIMAL(38, 18)) END AS expansion_net,
        CASE WHEN e_e > 0 AND s_s > e_s THEN CAST(s_s - e_s AS DECIMAL(38, 18))
        ELSE CAST(0 AS DECIMAL(38, 18)) END AS contraction_net,
        CASE WHEN e_e > 0 THEN CAST(0 AS DECIMAL(38, 18)) ELSE s_s END AS churn_net
    FROM per_customer
)
SELECT
    in_cohort,
    COUNT(*) AS customers,
    CAST(SUM(s_s) AS DECIMAL(38, 18)) AS starting,
    CAST(SUM(e_e) AS DECIMAL(38, 18)) AS ending,
    SUM(
        CASE
            WHEN fx <> fx_net OR expansion <> expansion_net OR contraction <> contraction_net
                OR churn <> churn_net THEN 1
            ELSE 0
        END
    ) AS retimed,
    -- A cohort customer that leaves and returns is a comeback, whether the bridge counts the
    -- return as a reactivation or, past the reactivation window, as new.
    CAST(SUM(came_back) AS DECIMAL(38, 18)) AS comebacks,
    SUM(CASE WHEN came_back > 0 THEN 1 ELSE 0 END) AS comeback_customers,
    CAST(SUM(fx) AS DECIMAL(38, 18)) AS fx,
    CAST(SUM(expansion) AS DECIMAL(38, 18)) AS expansion,
    CAST(SUM(contraction) AS DECIMAL(38, 18)) AS contraction,
    CAST(SUM(churn) AS DECIMAL(38, 18)) AS churn,
    CAST(SUM(fx_net) AS DECIMAL(38, 18)) AS fx_net,
    CAST(SUM(expansion_net) AS DECIMAL(38, 18)) AS expansion_net,
    CAST(SUM(contraction_net) AS DECIMAL(38, 18)) AS contraction_net,
    CAST(SUM(churn_net) AS DECIMAL(38, 18)) AS churn_net
FROM netted
-- Outside the cohort only customers who started inside the window have movements.
WHERE in_cohort OR came_back > 0
GROUP BY in_cohort
ORDER BY in_cohort ASC NULLS FIRST
