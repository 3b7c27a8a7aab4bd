"""nrr's computations as SQL: each stage's statement in its own `.sql` file beside this one,
written once (in DuckDB's dialect, with explicit types) and rendered for every engine by
sqlglot (`render`).

Where to find a stage (each file's header names its inputs and its columns):

    sources/    the canonical lines and the valuation rates from the raw inputs (`nrr sql`)
    ledger/     per customer: valued at a window's ends (window.sql), who returns inside a
                window (window_returns.sql), its movements month by month
                (customer_movements.sql)
    metrics/    a window's sums per slice (window_totals.sql), the monthly MRR bridge per
                slice (bridge.sql): METRICS.md sections 3 and 4
    products/   the line-level `--by product` slices of both
    analysis/   causes, slice drill-downs, trends, cohorts, the methods' reconciliation and
                trailing revenue
    health/     the health score's population and each input's measures
    book/       what a book holds (currencies, months, a slice's values) and `Book.where`
    present/    `nrr sql metrics` rounded as the JSON prints it
    checks/     checks of the checked tables: copies and overlapping lines, look-alike ids,
                rates coverage and the supported money range

A statement reads its inputs by logical names (`lines`, `window_rates`, `bridge_rates`,
`calendar`) and takes values as `:name` parameters; `render.bind` puts in the tables and the
values (as literals the SQL builder quotes, never text pasted into SQL).

Habits that keep the meaning the same on every engine: money is DECIMAL with its precision and
scale (BigQuery's BIGNUMERIC, `render`); every division is of doubles, typed on both sides,
or corrected by an exact remainder; no month differences of dates (months are integers); every
ORDER BY names its null ordering (NULLS FIRST in window functions, BigQuery's only one, over
months that are never null); no integer division.
"""
