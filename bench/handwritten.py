"""The yardstick: hand-written DuckDB SQL computing what `nrr metrics` and `nrr movements` do.

    .venv/bin/python bench/handwritten.py metrics DIR --end 2025-12 --window 12
    .venv/bin/python bench/handwritten.py movements DIR --start 2022-01 --end 2025-12
    .venv/bin/python bench/handwritten.py both DIR --start 2022-01 --end 2025-12 --window 12
    .venv/bin/python bench/handwritten.py metrics DIR --end 2025-12 --parquet

DIR holds `subscriptions.csv`, `customers.csv` and `fx_rates.csv` (bench/generate.py), and
with `--parquet` the subscriptions and customers are read from the `.parquet` files beside
them instead (typed already: the yardstick for nrr over its checked copy). The
queries read the files straight into DuckDB with their types given, trust every row (no
row-level checks, no error messages), and use the same exact rules as nrr (METRICS.md):
per-line MRR in DECIMAL(20, 8), rates in DECIMAL(17, 9), deltas at month boundaries,
movements in constant currency at the opening month's rates with the revaluation of the
closing position in `fx`, reactivation after any gap. They print nrr's JSON layout
(money rounded half to even to cents), so bench/scale.py can check that both agree.

This is what a careful analyst would write by hand for one data set in one engine, and what
nrr is measured against.
"""

from __future__ import annotations

import argparse
import json
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import duckdb

_CENT = Decimal("0.01")

# The subscriptions read with their types declared, every value trusted (bench/floor.py
# times this read alone).
READ_SUBSCRIPTIONS = """read_csv('{dir}/subscriptions.csv', header = true, columns = {{
    'customer_id': 'VARCHAR', 'product': 'VARCHAR', 'start_date': 'DATE', 'end_date': 'DATE',
    'amount': 'DECIMAL(18, 8)', 'interval': 'VARCHAR', 'quantity': 'DECIMAL(18, 8)',
    'currency': 'VARCHAR'}})"""
# The same columns from the Parquet file, with the CSV read's types.
READ_SUBSCRIPTIONS_PARQUET = """(SELECT customer_id, product, start_date, end_date,
    CAST(amount AS DECIMAL(18, 8)) AS amount, interval,
    CAST(quantity AS DECIMAL(18, 8)) AS quantity, currency
  FROM read_parquet('{dir}/subscriptions.parquet'))"""
READ_CUSTOMERS = "read_csv('{dir}/customers.csv', header = true, all_varchar = true)"
READ_CUSTOMERS_PARQUET = "read_parquet('{dir}/customers.parquet')"

_LINES = """
CREATE TEMP TABLE lines AS
WITH raw AS (
  SELECT customer_id, coalesce(nullif(currency, ''), '{base}') AS currency,
    year(start_date) * 12 + month(start_date) - 1 AS sm,
    year(end_date) * 12 + month(end_date) - 1 AS em,
    (amount / CASE interval WHEN 'month' THEN 1 WHEN 'quarter' THEN 3
        WHEN 'half_year' THEN 6 WHEN 'year' THEN 12 END)::DECIMAL(20, 8) AS mrr
  FROM {subscriptions}
)
SELECT * FROM raw WHERE mrr > 0 AND (em IS NULL OR em > sm);

CREATE TEMP TABLE rates AS
SELECT currency, month[1:4]::INT * 12 + month[6:7]::INT - 1 AS m, rate::DECIMAL(17, 9) AS rate
FROM read_csv('{dir}/fx_rates.csv', header = true, all_varchar = true)
UNION ALL SELECT '{base}', 0, 1;
"""

# Rate in force in month M: the latest rate at or before it.
_RATE_AT = "arg_max(rate, m) FILTER (WHERE m <= {month})"

_METRICS = """
WITH r AS (
  SELECT currency, {rate_s} AS rate_s, {rate_e} AS rate_e FROM rates GROUP BY currency
), per AS (
  SELECT customer_id, min(sm) AS first_m,
    sum(CASE WHEN sm <= {s} AND coalesce(em, 99999) > {s} THEN mrr * rate_s ELSE 0 END) AS s_s,
    sum(CASE WHEN sm <= {e} AND coalesce(em, 99999) > {e} THEN mrr * rate_s ELSE 0 END) AS e_s,
    sum(CASE WHEN sm <= {e} AND coalesce(em, 99999) > {e} THEN mrr * rate_e ELSE 0 END) AS e_e
  FROM lines JOIN r USING (currency) GROUP BY customer_id
), tagged AS (
  SELECT per.*, coalesce(c.segment, '(none)') AS segment
  FROM per LEFT JOIN {customers} c USING (customer_id)
  WHERE s_s > 0 OR e_e > 0
)
SELECT segment,
  sum(s_s) FILTER (WHERE s_s > 0) AS starting_mrr,
  sum(e_e) FILTER (WHERE s_s > 0) AS ending_mrr,
  sum(e_e - e_s) FILTER (WHERE s_s > 0) AS fx,
  sum(e_s - s_s) FILTER (WHERE s_s > 0 AND e_s > s_s) AS expansion,
  sum(s_s - e_s) FILTER (WHERE s_s > 0 AND e_s > 0 AND s_s > e_s) AS contraction,
  sum(s_s) FILTER (WHERE s_s > 0 AND e_s = 0) AS churn,
  count(*) FILTER (WHERE s_s > 0) AS customers_start,
  count(*) FILTER (WHERE s_s > 0 AND e_e > 0) AS customers_retained,
  sum(e_e) FILTER (WHERE s_s = 0 AND e_e > 0 AND first_m > {s}) AS new_mrr,
  sum(e_e) FILTER (WHERE s_s = 0 AND e_e > 0 AND first_m < {s}) AS reactivation_mrr
FROM tagged GROUP BY GROUPING SETS ((segment), ()) ORDER BY segment NULLS FIRST
"""

# Movements in constant currency at the opening month's rates: a customer's change in month m
# is the sum of its lines' changes at m-1's rates, and whether it had MRR before and after is
# whether it had a line in service (a running count), so no per-currency balance is needed.
_MOVEMENTS = """
WITH ev AS (
  SELECT customer_id, currency, sm AS m, mrr AS d, 1 AS n FROM lines
  UNION ALL SELECT customer_id, currency, em, -mrr, -1 FROM lines WHERE em IS NOT NULL
), months AS (
  SELECT range AS m FROM range({lo} - 1, {hi} + 1)
), rm AS (
  SELECT currency, months.m, arg_max(rate, rates.m) AS rate
  FROM rates JOIN (SELECT range AS m FROM range({lo} - 2, {hi} + 1)) months
    ON rates.m <= months.m GROUP BY ALL
), cm AS (
  SELECT customer_id, ev.m, sum(d * rm.rate) AS dv, sum(n) AS dn
  FROM ev LEFT JOIN rm ON rm.currency = ev.currency AND rm.m = ev.m - 1
  GROUP BY ALL
), steps AS (
  SELECT *, sum(dn) OVER (PARTITION BY customer_id ORDER BY m) AS after_n FROM cm
), first AS (
  SELECT customer_id, min(sm) AS first_m FROM lines GROUP BY ALL
), flows AS (
  SELECT m,
    sum(dv) FILTER (WHERE after_n = dn AND after_n > 0 AND m = first_m) AS new,
    sum(dv) FILTER (WHERE after_n = dn AND after_n > 0 AND m > first_m) AS reactivation,
    sum(dv) FILTER (WHERE after_n > dn AND after_n > 0 AND dv > 0) AS expansion,
    -sum(dv) FILTER (WHERE after_n > dn AND after_n > 0 AND dv < 0) AS contraction,
    -sum(dv) FILTER (WHERE after_n > dn AND after_n = 0) AS churn
  FROM steps JOIN first USING (customer_id) WHERE m BETWEEN {lo} AND {hi} GROUP BY m
), joined AS (
  -- +1 when a customer becomes active, -1 when it stops, in any month
  SELECT m, sum((after_n > 0)::INT - (after_n - dn > 0)::INT) AS joined FROM steps GROUP BY m
), levels AS (
  SELECT lv.m, sum(local * rm.rate) AS closing, sum(local * opening.rate) AS closing_open
  FROM (
    SELECT months.m, t.currency, sum(t.d) AS local
    FROM (SELECT currency, m, sum(d) AS d FROM ev GROUP BY ALL) t
    JOIN months ON t.m <= months.m GROUP BY ALL
  ) lv
  JOIN rm ON rm.currency = lv.currency AND rm.m = lv.m
  JOIN rm opening ON opening.currency = lv.currency AND opening.m = lv.m - 1
  GROUP BY ALL
), active AS (
  SELECT months.m, sum(joined) AS active FROM joined JOIN months ON joined.m <= months.m
  GROUP BY ALL
)
SELECT l.m, lag(l.closing) OVER w AS starting_mrr, l.closing - l.closing_open AS fx,
  f.new, f.reactivation, f.expansion, f.contraction, f.churn,
  l.closing AS ending_mrr, a.active AS active_customers
FROM levels l LEFT JOIN flows f USING (m) LEFT JOIN active a USING (m)
WINDOW w AS (ORDER BY l.m)
QUALIFY l.m >= {lo}
ORDER BY l.m
"""


def _month(text: str) -> int:
    year, month = text.split("-")
    return int(year) * 12 + int(month) - 1


def _label(m: int) -> str:
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def _cents(value: object) -> float:
    exact = Decimal(0) if value is None else Decimal(str(value))
    return float(exact.quantize(_CENT, rounding=ROUND_HALF_EVEN))


def _ratio(top: object, bottom: object) -> float | None:
    if not bottom:
        return None
    value = Decimal(str(top or 0)) / Decimal(str(bottom))
    return float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def lines_sql(folder: str, base: str, *, parquet: bool = False) -> str:
    """The statements that read the subscriptions and rates of `folder` into `lines` and
    `rates`."""
    read = READ_SUBSCRIPTIONS_PARQUET if parquet else READ_SUBSCRIPTIONS
    return _LINES.format(subscriptions=read.format(dir=folder), dir=folder, base=base)


def metrics(
    con: duckdb.DuckDBPyConnection, folder: str, end: str, window: int, *, parquet: bool = False
) -> dict:
    e = _month(end)
    s = e - window
    customers = (READ_CUSTOMERS_PARQUET if parquet else READ_CUSTOMERS).format(dir=folder)
    sql = _METRICS.format(
        s=s, e=e, rate_s=_RATE_AT.format(month=s), rate_e=_RATE_AT.format(month=e),
        customers=customers,
    )  # fmt: skip
    rows = con.execute(sql).fetchall()
    names = [c[0] for c in con.description]
    out = []
    for row in rows:
        r = dict(zip(names, row, strict=True))
        figures = {k: _cents(r[k]) for k in names if k not in ("segment",)}
        figures["customers_start"] = int(r["customers_start"] or 0)
        figures["customers_retained"] = int(r["customers_retained"] or 0)
        start = r["starting_mrr"]
        lost = Decimal(str(r["contraction"] or 0)) + Decimal(str(r["churn"] or 0))
        figures["nrr"] = _ratio(r["ending_mrr"], start)
        figures["grr"] = _ratio(Decimal(str(start or 0)) - lost, start)
        figures["logo_retention"] = _ratio(r["customers_retained"], r["customers_start"])
        out.append((r["segment"], figures))
    overall = next(f for seg, f in out if seg is None)
    segments = [{"segment": seg, **f} for seg, f in out if seg is not None]
    return {"start": _label(s), "end": _label(e), "overall": overall, "segments": segments}


def movements(con: duckdb.DuckDBPyConnection, start: str, end: str) -> list[dict]:
    sql = _MOVEMENTS.format(lo=_month(start), hi=_month(end))
    rows = con.execute(sql).fetchall()
    names = [c[0] for c in con.description]
    out = []
    for row in rows:
        r = dict(zip(names, row, strict=True))
        item = {"month": _label(r.pop("m")), "active_customers": int(r.pop("active_customers"))}
        out.append(item | {k: _cents(v) for k, v in r.items()})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("metrics", "movements", "both"))
    parser.add_argument("dir", type=Path)
    parser.add_argument("--start")
    parser.add_argument("--end", required=True)
    parser.add_argument("--window", type=int, default=12)
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--parquet", action="store_true", help="read the .parquet files")
    args = parser.parse_args()
    folder = args.dir.resolve().as_posix()
    con = duckdb.connect()
    con.execute(lines_sql(folder, args.currency, parquet=args.parquet))
    if args.command == "metrics":
        result: object = metrics(con, folder, args.end, args.window, parquet=args.parquet)
    elif args.command == "movements":
        result = movements(con, args.start, args.end)
    else:  # one read of the CSV for both, as a notebook session would do
        result = {
            "metrics": metrics(con, folder, args.end, args.window, parquet=args.parquet),
            "movements": movements(con, args.start, args.end),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
