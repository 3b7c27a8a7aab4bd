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
    files = ", ".join(sorted(p.name for p in paths.values()))
    intro = Text.assemble(
        ("nrr demo", "bold"),
        f": {book.row_count} subscription lines of a sample SaaS business written to {folder}/ "
        f"({files}).\n",
    )
    follow = Text(
        "\nNext: nrr metrics --subscriptions {f}/subscriptions.csv --customers {f}/customers.csv "
        "--fx-rates {f}/fx_rates.csv --end {e} --by market\n"
        "      nrr movements --db {f}/demo.duckdb --by segment --format json".format(f=folder, e=end),
        style="dim",
    )
    return Group(intro, window_tables(result), bridge_table(bridge, title=f"MRR bridge, last 12 "
                                                             f"months ({start}..{end})"), follow)
