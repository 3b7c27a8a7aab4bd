-- `nrr metrics --format json` as rows (METRICS.md section 6): the overall row (segment NULL)
-- and, with --by, one row per slice; money rounded to cents and ratios to 4 places, half to
-- even, as the JSON prints them.
--
-- figures  (segment, starting_mrr, ..., customers_start, customers_retained, q0_nrr, q0_grr,
--          q0_logo_retention): the window's figures with each ratio's first quotient
SELECT
    CAST(:start_month AS VARCHAR) AS start,
    CAST(:end_month AS VARCHAR) AS "end",
    CAST(:window_months AS BIGINT) AS window_months,
    CAST(:currency AS VARCHAR) AS currency,
    CAST(:fx_mode AS VARCHAR) AS fx_mode,
    segment,
    :starting_mrr AS starting_mrr,
    :ending_mrr AS ending_mrr,
    :fx AS fx,
    :expansion AS expansion,
    :contraction AS contraction,
    :churn AS churn,
    :nrr AS nrr,
    :grr AS grr,
    customers_start,
    customers_retained,
    :logo_retention AS logo_retention,
    :new_mrr AS new_mrr,
    :reactivation_mrr AS reactivation_mrr
FROM figures
ORDER BY segment ASC NULLS FIRST
