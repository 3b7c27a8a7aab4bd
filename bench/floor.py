"""What checking a new export costs, against the typed read the hand-written query does.

    .venv/bin/python bench/floor.py                    # 1M customers, fastest of 3
    .venv/bin/python bench/floor.py 100000 --repeat 5

nrr reads every value of a new CSV export as text and checks it, so that a bad value is
reported with its file, row and column instead of stopping the read (METRICS.md, and the
README's standards: every input row is used or reported). The hand-written query
(bench/handwritten.py) reads the same file with its types declared and trusts every value.
This script measures what that difference costs on its own, with nrr's own checking query:
the one `nrr.load` runs on the subscriptions file, recorded as it runs. It times, in the same
DuckDB connection, fastest of --repeat runs, in rounds:

- the hand-written query's typed read of the file into a temporary table;
- nrr's checking query with nothing kept (every value parsed and checked, then counted);
- the same into a temporary table, and into a Parquet file as nrr writes its kept copy;
- reading that copy into a temporary table, as a later command starts;

and, each in a fresh process, the start-up of either side: `import nrr.cli` against what
handwritten.py imports. Then the two hand-written queries as bench/scale.py runs them.

From these it prints a floor for `nrr metrics` plus `nrr movements` at that size: the
hand-written pair's time, plus what checking costs over the typed read, plus nrr's start-up
over the hand-written one, as if nrr computed exactly as fast as the hand-written SQL once
the rows are read. Everything else a first read does (the warnings about copies and
overlapping lines, the customers' checks, the pass over the bytes, compiling the queries) is
left out, so nrr cannot come in under it. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from handwritten import READ_SUBSCRIPTIONS  # noqa: E402
from scale import Job, hand_jobs, measure  # noqa: E402

# What a process of each side imports before it computes.
_STARTS = {
    "nrr": "import nrr.cli",
    "hand-written": "import argparse, json, decimal, duckdb",
}


def checking_query(paths: dict[str, Path]) -> tuple[object, str]:
    """nrr's checking query for the subscriptions file, as `nrr.load` runs it (recorded from
    `CheckedCache.write`, which runs it into the kept copy), and the connection it runs in."""
    import nrr
    from nrr.sources.cache import CheckedCache

    seen: list[tuple[object, str]] = []
    write = CheckedCache.write

    def recording(kept: CheckedCache, con: object, sql: str, part: Path) -> bool:
        seen.append((con, sql))
        return write(kept, con, sql, part)  # type: ignore[arg-type]

    CheckedCache.write = recording  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory(prefix="nrr-floor-cache-") as cache:
            nrr.load(
                paths["subscriptions.csv"],
                customers=paths["customers.csv"],
                fx_rates=paths["fx_rates.csv"],
                cache=CheckedCache(Path(cache), smallest=0),
            )
    finally:
        CheckedCache.write = write  # type: ignore[method-assign]
    if not seen:
        raise SystemExit("nrr.load ran no checking query into a kept copy")
    return seen[0]  # the subscriptions come first; the customers' query follows


def _fastest(steps: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(repeat):
        for label, step in steps.items():
            began = time.perf_counter()
            step()
            times[label].append(time.perf_counter() - began)
    return {label: min(runs) for label, runs in times.items()}


def floor(customers: int, repeat: int) -> None:
    paths = generate(customers, Path("/tmp/nrr-bench") / str(customers))
    folder = paths["subscriptions.csv"].parent
    print(f"\n{customers:,} customers: {paths['subscriptions.csv']}")
    backend, sql = checking_query(paths)
    con = backend.con  # type: ignore[attr-defined]
    read = READ_SUBSCRIPTIONS.format(dir=folder.as_posix())
    with tempfile.TemporaryDirectory(prefix="nrr-floor-") as tmp:
        copy = (Path(tmp) / "copy.parquet").as_posix()
        steps: dict[str, Callable[[], object]] = {
            "typed read (hand-written), into memory": lambda: con.execute(
                f"CREATE OR REPLACE TEMP TABLE floor_typed AS SELECT * FROM {read}"
            ),
            "nrr's checks, nothing kept": lambda: con.execute(
                f'SELECT count(*), sum(CAST("_bad" AS INT)) FROM ({sql})'
            ).fetchall(),
            "nrr's checks, into memory": lambda: con.execute(
                f"CREATE OR REPLACE TEMP TABLE floor_checked AS {sql}"
            ),
            "nrr's checks, into the Parquet copy": lambda: con.execute(
                f"COPY ({sql}) TO '{copy}' (FORMAT parquet)"
            ),
            "reading the copy, into memory": lambda: con.execute(
                f"CREATE OR REPLACE TEMP TABLE floor_copy AS SELECT * FROM read_parquet('{copy}')"
            ),
        }
        took = _fastest(steps, repeat)
    for label, seconds in took.items():
        print(f"  {label:<44} {seconds:7.2f} s")
    runs = measure(
        [Job(f"start-up: {side}", [sys.executable, "-c", code]) for side, code in _STARTS.items()]
        + list(hand_jobs(folder)),
        repeat,
    )
    for run in runs:
        print(f"  {run.label:<44} {run.wall:7.2f} s")
    start_nrr, start_hand, hand_m, hand_v = (run.wall for run in runs)
    hand = hand_m + hand_v
    typed = took["typed read (hand-written), into memory"]
    checks = took["nrr's checks, nothing kept"]
    written = took["nrr's checks, into the Parquet copy"]
    reread = took["reading the copy, into memory"]
    started = 2 * (start_nrr - start_hand)
    each = hand + 2 * (checks - typed) + started
    # The usual session: the first command checks and keeps the copy, the second reads it
    # (or, cheaper if it were, both check and keep nothing).
    usual = hand + min(written - typed + reread - typed, 2 * (checks - typed)) + started
    print(f"  hand-written metrics + movements: {hand:.2f} s; 1.2x is {1.2 * hand:.2f} s")
    print(
        f"  floor for nrr, each reading the CSV: {each:.2f} s ({each / hand:.2f}x): checking "
        f"{checks - typed:+.2f} s and start-up {started / 2:+.2f} s a command"
    )
    print(
        f"  floor for nrr, metrics then movements over its copy: {usual:.2f} s "
        f"({usual / hand:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="keep the fastest of N runs")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; fastest of {args.repeat}")
    for customers in args.sizes:
        floor(customers, args.repeat)


if __name__ == "__main__":
    main()
