"""Benchmark: read, check and report on a large canonical subscriptions CSV.

    .venv/bin/python bench/read_large.py [LINES]    # default 3,000,000 lines

Generates the file once (about 3 lines per customer, 5 years, monthly and annual plans),
then runs `nrr metrics` and `nrr movements` on it as separate processes and prints wall
time and peak memory (RSS) of each. Figures are printed, never asserted.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
NRR = ROOT / ".venv" / "bin" / "nrr"


def generate(lines: int, path: Path) -> None:
    if path.exists():
        return
    duckdb.sql(
        f"""
        COPY (
          SELECT 'c' || (i // 3) AS customer_id, 'p' || (i % 3) AS product,
                 DATE '2020-01-01' + (i % 1500)::INT AS start_date,
                 CASE WHEN i % 4 = 0 THEN DATE '2020-01-01' + (i % 1500)::INT + 400 END
                   AS end_date,
                 ((i % 997) + 10)::VARCHAR || '.50' AS amount,
                 CASE WHEN i % 5 = 0 THEN 'year' ELSE 'month' END AS interval,
                 1 AS quantity, 'USD' AS currency
          FROM range({lines}) t(i)
        ) TO '{path}' (HEADER)
        """
    )


def run(label: str, args: list[str]) -> None:
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run([str(NRR), *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    status = "ok" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[:200]}"
    note = "" if peak > before else " (peak of an earlier run)"
    print(f"{label:<34} {wall:7.1f} s  peak RSS {peak / 1024:7.0f} MB{note}  {status}")


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000
    path = Path("/tmp") / f"nrr-bench-{lines}.csv"
    generate(lines, path)
    size = path.stat().st_size / 1e6
    print(f"{lines:,} lines, {size:,.0f} MB CSV: {path}")
    run("metrics --end 2024-12", ["metrics", "-s", str(path), "--end", "2024-12", "-f", "json"])
    run(
        "movements 2021-01..2024-12",
        ["movements", "-s", str(path), "--start", "2021-01", "--end", "2024-12", "-f", "json"],
    )


if __name__ == "__main__":
    main()
