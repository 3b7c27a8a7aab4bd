"""Generate a synthetic subscription book at scale, as CSV and Parquet, for the benchmarks.

    .venv/bin/python bench/generate.py CUSTOMERS [--out DIR]    # e.g. 10000, 100000, 1000000

Writes `subscriptions`, `customers` (segment, market) and `fx_rates` to DIR (default
`/tmp/nrr-bench/CUSTOMERS`), each as `.csv` and `.parquet`, unless they are already there.
About 3 lines a customer over 5 years (2021-01 to 2025-12): a Core line that is upgraded or
downgraded once for most customers, one or two add-on products, 35% of customers churning and
some of them coming back; monthly, quarterly and annual plans; USD, EUR, GBP and CAD.

Every value comes from a hash of the customer's number, so the same size always gives the
same files, and DuckDB writes them at disk speed (1M customers in a few seconds).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

FIRST_MONTH = "2021-01-01"
MONTHS = 60  # 2021-01 .. 2025-12

# u(i, k): a uniform number in [0, 1) for customer i and purpose k, the same on every run.
_LINES = f"""
WITH c AS (
  SELECT i,
    printf('c%07d', i) AS customer_id,
    hash(i, 1) % 1000 / 1000.0 AS u_seg,
    hash(i, 2) % 1000 / 1000.0 AS u_cur,
    (hash(i, 3) % {MONTHS})::INT AS sm,
    (hash(i, 4) % 28)::INT AS day,
    hash(i, 5) % 1000 / 1000.0 AS u_churn,
    (hash(i, 6) % 40)::INT AS churn_after,
    (hash(i, 7) % 18)::INT AS up_after,
    hash(i, 8) % 1000 / 1000.0 AS u_up,
    hash(i, 9) % 1000 / 1000.0 AS u_plan,
    hash(i, 10) % 1000 / 1000.0 AS u_price,
    hash(i, 11) % 1000 / 1000.0 AS u_addon,
    (hash(i, 12) % 12)::INT AS addon_after,
    hash(i, 13) % 1000 / 1000.0 AS u_back,
    (hash(i, 14) % 10)::INT AS back_after,
    (1 + hash(i, 15) % 200)::INT AS seats
  FROM range(?) t(i)
), p AS (
  SELECT *,
    CASE WHEN u_seg < 0.6 THEN 'SMB' WHEN u_seg < 0.9 THEN 'Mid-Market' ELSE 'Enterprise' END
      AS segment,
    CASE WHEN u_cur < 0.65 THEN 'USD' WHEN u_cur < 0.85 THEN 'EUR'
         WHEN u_cur < 0.95 THEN 'GBP' ELSE 'CAD' END AS currency,
    CASE WHEN u_plan < 0.7 THEN 1 WHEN u_plan < 0.75 THEN 3 ELSE 12 END AS months,
    CASE WHEN u_churn < 0.35 AND sm + 1 + churn_after < {MONTHS}
         THEN sm + 1 + churn_after END AS cm,
    (CASE WHEN u_seg < 0.6 THEN 50 + 250 * u_price WHEN u_seg < 0.9 THEN 300 + 1700 * u_price
          ELSE 2000 + 18000 * u_price END) AS monthly
  FROM c
), q AS (
  SELECT *,
    u_up < 0.9 AND sm + 1 + up_after < coalesce(cm, {MONTHS}) AS upgraded,
    sm + 1 + up_after AS um,
    CASE WHEN u_up < 0.6 THEN 1.1 + u_price ELSE 0.5 + 0.4 * u_price END AS factor
  FROM p
), lines AS (
  SELECT i, customer_id, 'Core' AS product, sm AS s, CASE WHEN upgraded THEN um ELSE cm END AS e,
         monthly AS mrr, months, seats, currency, day FROM q
  UNION ALL
  SELECT i, customer_id, 'Core', um, cm, monthly * factor, months,
         greatest(1, (seats * factor)::INT), currency, day FROM q WHERE upgraded
  UNION ALL
  SELECT i, customer_id, 'Analytics', sm + addon_after, cm, monthly * 0.3, months,
         greatest(1, seats // 2), currency, day FROM q
  WHERE u_addon < 0.85 AND sm + addon_after < coalesce(cm, {MONTHS})
  UNION ALL
  SELECT i, customer_id, 'Automation', sm + addon_after + 2,
         CASE WHEN u_addon < 0.1 AND sm + addon_after + 8 < coalesce(cm, {MONTHS})
              THEN sm + addon_after + 8 ELSE cm END,
         monthly * 0.2, 1, greatest(1, seats // 4), currency, day FROM q
  WHERE u_addon < 0.6 AND sm + addon_after + 2 < coalesce(cm, {MONTHS})
  UNION ALL
  SELECT i, customer_id, 'Core', cm + 2 + back_after, NULL, monthly, 1, seats, currency, day
  FROM q WHERE cm IS NOT NULL AND u_back < 0.3 AND cm + 2 + back_after < {MONTHS}
)
SELECT customer_id, product,
  (DATE '{FIRST_MONTH}' + to_months(s) + to_days(day))::DATE AS start_date,
  CASE WHEN e IS NOT NULL THEN (DATE '{FIRST_MONTH}' + to_months(e) + to_days(day))::DATE END
    AS end_date,
  round(mrr * months, 2) AS amount,
  CASE months WHEN 1 THEN 'month' WHEN 3 THEN 'quarter' ELSE 'year' END AS interval,
  seats AS quantity, currency
FROM lines ORDER BY i, s, product
"""

_CUSTOMERS = """
SELECT printf('c%07d', i) AS customer_id,
  CASE WHEN hash(i, 1) % 1000 < 600 THEN 'SMB' WHEN hash(i, 1) % 1000 < 900 THEN 'Mid-Market'
       ELSE 'Enterprise' END AS segment,
  ['North America', 'EMEA', 'APAC', 'LATAM'][1 + (hash(i, 16) % 4)::INT] AS market
FROM range(?) t(i)
"""

_RATES = f"""
SELECT strftime(DATE '{FIRST_MONTH}' + to_months(m::INT), '%Y-%m') AS month, currency,
       round(base + swing * sin(m / 6.0), 4) AS rate
FROM range({MONTHS}) t(m),
     (VALUES ('EUR', 1.10, 0.06), ('GBP', 1.28, 0.07), ('CAD', 0.75, 0.03)) r(currency, base, swing)
ORDER BY currency, month
"""


def generate(customers: int, out: Path) -> dict[str, Path]:
    """Write the book for `customers` customers to `out` (kept if already complete)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        f"{name}.{kind}": out / f"{name}.{kind}"
        for name in ("subscriptions", "customers", "fx_rates")
        for kind in ("csv", "parquet")
    }
    if all(p.exists() for p in paths.values()):
        return paths
    con = duckdb.connect()
    for name, sql, args in (
        ("subscriptions", _LINES, [customers]),
        ("customers", _CUSTOMERS, [customers]),
        ("fx_rates", _RATES, []),
    ):
        con.execute(f"CREATE TABLE {name} AS {sql}", args)
        for kind, options in (("csv", "HEADER"), ("parquet", "FORMAT parquet")):
            target = paths[f"{name}.{kind}"]
            partial = target.with_suffix(target.suffix + ".part")
            con.execute(f"COPY {name} TO '{partial}' ({options})")
            partial.rename(target)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", type=int, help="number of customers (10000, 100000, ...)")
    parser.add_argument("--out", type=Path, help="folder (default /tmp/nrr-bench/CUSTOMERS)")
    args = parser.parse_args()
    out = args.out or Path("/tmp/nrr-bench") / str(args.customers)
    began = time.perf_counter()
    paths = generate(args.customers, out)
    counted = duckdb.sql(f"SELECT count(*) FROM '{paths['subscriptions.parquet']}'")
    lines = counted.fetchall()[0][0]
    size = paths["subscriptions.csv"].stat().st_size / 1e6
    print(
        f"{args.customers:,} customers, {lines:,} lines ({size:,.0f} MB CSV) in {out} "
        f"({time.perf_counter() - began:.1f} s)"
    )


if __name__ == "__main__":
    main()
