"""nrr's computations as SQL: each stage's statement in its own `.sql` file beside this one,
written once (in DuckDB's dialect, with explicit types) and rendered for every engine by
sqlglot (`render`).

    ledger/window.sql      each customer valued at a window's two ends (METRICS.md section 4)
    ledger/window_returns.sql  who returns inside a window, under a reactivation window
    metrics/window_totals.sql  a window's sums per slice
    metrics/bridge.sql     the monthly MRR bridge per slice (METRICS.md section 3)
    products/window.sql    a window's figures per product (`--by product`, section 4)
    products/customer_kinds.sql  each customer's own kind of change by month, from bridge.sql
    products/bridge.sql    the monthly bridge per product
    checks/*.sql           the intake's warnings and checks on its checked tables (copies and
                           overlaps, look-alike ids, rates' coverage, the supported range),
                           run in the embedded DuckDB the intake reads in

A statement reads its inputs by logical names (`lines`, `window_rates`, `bridge_rates`,
`calendar`) and takes values as `:name` parameters; `render.bind` puts in the tables and the
values (as literals the SQL builder quotes, never text pasted into SQL).

Habits that keep the meaning the same on every engine: money is DECIMAL with its precision and
scale (BigQuery's BIGNUMERIC, `render`); every division is of doubles, typed on both sides,
or corrected by an exact remainder; no month differences of dates (months are integers); every
ORDER BY names its null ordering (NULLS FIRST in window functions, BigQuery's only one, over
months that are never null); no integer division.
"""
