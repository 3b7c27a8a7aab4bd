"""The demo's headline report: the latest 12 months against benchmarks, the bridge, slices."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.text import Text

from nrr.book import Book
from nrr.months import month_label, parse_month
from nrr.present.tables import bridge_table, window_tables

__all__ = ["headline"]


def headline(book: Book, *, end: str, folder: Path, paths: dict[str, Path]) -> Group:
    result = book.window(end, window=12, by="segment")
    start = month_label(parse_month(end) - 11)
    bridge = book.bridge(start, end)
    tables = list(dict.fromkeys(p.stem for p in paths.values() if p.suffix != ".duckdb"))
    files = f"{', '.join(tables)}, each as CSV and Parquet, and all in demo.duckdb"
    intro = Text.assemble(
        ("nrr demo", "bold"),
        f": {book.row_count} subscription lines of a sample SaaS business written to {folder}/ "
        f"({files}).\n",
    )
    follow = Text(
        f"\nNext: nrr metrics --subscriptions {folder}/subscriptions.csv "
        f"--customers {folder}/customers.csv "
        f"--fx-rates {folder}/fx_rates.csv --end {end} --by market\n"
        f"      nrr movements --db {folder}/demo.duckdb --by segment --format json\n"
        f"      nrr report --db {folder}/demo.duckdb --out {folder}/report.html   "
        "(a report to open in a browser or print)\n"
        f"      nrr serve --db {folder}/demo.duckdb   (the dashboard, on http://127.0.0.1:8765)\n"
        f"      nrr risks --db {folder}/demo.duckdb --config {folder}/nrr.toml   "
        "(customers at risk, from the health inputs)",
        style="dim",
    )
    return Group(
        intro,
        window_tables(result, benchmarks=book.benchmarks),
        bridge_table(bridge, title=f"MRR bridge, last 12 months ({start}..{end})"),
        follow,
    )
