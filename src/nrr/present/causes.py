"""Tables, JSON and CSV for `nrr causes` and `nrr owners` (the records and the DataFrames are
`nrr.records.causes`'s).

Amounts are rounded to cents only in records and tables (half to even); each part is rounded on
its own, so a printed total can differ from the sum of its printed parts by a cent per part.
"""

from __future__ import annotations

import json
from decimal import Decimal

from rich.console import Group
from rich.table import Table

from nrr.analysis.causes import CAUSES, CauseParts, CausesResult
from nrr.analysis.owners import OwnersResult
from nrr.present.machine import records_csv
from nrr.present.tables import money, percent
from nrr.records.causes import (
    DETAIL_KEYS,
    PART_KEYS,
    causes_record,
    detail_for,
    owner_header,
    owner_records,
    owners_record,
    split_records,
    window_context,
)

__all__ = [
    "DETAIL_ROWS",
    "causes_csv",
    "causes_json",
    "causes_tables",
    "owners_csv",
    "owners_json",
    "owners_tables",
]

# How many customer x product rows the table shows with --detail; JSON and CSV give all.
DETAIL_ROWS = 20
_LABELS = {
    "seats": "= seats",
    "price": "+ price",
    "cross_sell": "+ cross-sell",
    "dropped": "+ dropped",
}


def _quantity(value: Decimal) -> str:
    # 25.0000000000 -> 25, 2.5000000000 -> 2.5, never an exponent.
    return format(value.normalize(), "f") if value else "0"


# --- causes ---------------------------------------------------------------------------------


def causes_json(result: CausesResult) -> str:
    return json.dumps(causes_record(result), indent=2)


def causes_csv(result: CausesResult) -> str:
    """Long format: one row per (segment, movement); with detail, one per customer x product."""
    context = window_context(result)
    if result.detail is not None:
        keys = [k for k in DETAIL_KEYS if result.by is not None or k != "segment"]
        header = [*context, *keys]
        rows = [
            {
                **context,
                **detail_for(result, line),
                # exact digits in CSV (JSON numbers are floats)
                "quantity_start": _quantity(line.quantity_start),
                "quantity_end": _quantity(line.quantity_end),
            }
            for line in result.detail
        ]
        return records_csv(header, rows)
    header = [*context, "segment", "movement", *PART_KEYS]
    return records_csv(header, [{**context, **r} for r in split_records(result)])


def _parts_cells(parts: CauseParts) -> list[str]:
    return [money(parts.total), *(money(getattr(parts, c)) for c in CAUSES), str(parts.customers)]


def causes_tables(result: CausesResult, unit: str = "MRR") -> Group:
    """Each movement laid out as `total = seats + price + cross-sell + dropped`."""
    title = (
        f"Expansion and contraction by cause {result.start} -> {result.end} "
        f"({result.window_months} months, {result.currency}, fx {result.fx_mode})"
    )
    head = Table(title=title, title_justify="left")
    head.add_column("", style="bold")
    head.add_column(unit, justify="right")
    for cause in CAUSES:
        head.add_column(_LABELS[cause], justify="right")
    head.add_column("customers", justify="right")
    for movement in ("expansion", "contraction"):
        head.add_row(movement.capitalize(), *_parts_cells(getattr(result.overall, movement)))
    head.caption = (
        "Per customer and product: cross-sell = a product not held at the start; dropped = a "
        "product held at the start and not at the end; seats = the change in quantity at the "
        "start's MRR per unit; price = the rest. Contraction parts are reductions."
    )
    head.caption_justify = "left"
    parts: list[Table] = [head]
    if result.by is not None:
        table = Table(title=f"By {result.by}", title_justify="left")
        table.add_column(result.by)
        table.add_column("movement")
        table.add_column(unit, justify="right")
        for cause in CAUSES:
            table.add_column(_LABELS[cause], justify="right")
        table.add_column("customers", justify="right")
        for name, split in result.segments:
            table.add_row(name, "expansion", *_parts_cells(split.expansion))
            table.add_row("", "contraction", *_parts_cells(split.contraction), end_section=True)
        parts.append(table)
    if result.detail is not None:
        parts.append(_detail_table(result, unit))
    return Group(*parts)


def _detail_table(result: CausesResult, unit: str) -> Table:
    shown = result.detail[:DETAIL_ROWS] if result.detail else ()
    count = len(result.detail or ())
    table = Table(
        title=f"Largest customer x product amounts ({len(shown)} of {count})",
        title_justify="left",
        caption="All rows: --detail --format csv (or json).",
        caption_justify="left",
    )
    segmented = result.by is not None
    headers = ["customer", "product", *([result.by] if segmented else []), "movement"]
    for name in headers:
        table.add_column(name)
    for name in (f"{unit} start", f"{unit} end", "qty start", "qty end", "amount", *CAUSES):
        table.add_column(_LABELS.get(name, name).lstrip("=+ "), justify="right")
    for line in shown:
        table.add_row(
            line.customer_id,
            line.product,
            *([line.segment] if segmented else []),
            line.movement,
            money(line.mrr_start),
            money(line.mrr_end),
            _quantity(line.quantity_start),
            _quantity(line.quantity_end),
            money(line.amount),
            *(money(getattr(line, c)) for c in CAUSES),
        )
    return table


# --- owners ---------------------------------------------------------------------------------


def owners_json(result: OwnersResult) -> str:
    return json.dumps(owners_record(result), indent=2)


def owners_csv(result: OwnersResult) -> str:
    """Long format: one row per (role, owner); `(all)` first in each role; blanks where a
    column belongs to the other role."""
    context = window_context(result)
    header = [*context, *owner_header()]
    return records_csv(header, [{**context, **r} for r in owner_records(result)])


def owners_tables(result: OwnersResult, unit: str = "MRR") -> Group:
    span = (
        f"{result.start} -> {result.end} ({result.window_months} months, {result.currency}, "
        f"fx {result.fx_mode})"
    )
    csm = Table(
        title=f"CSMs ({result.csm_column}): retention of their book, {span}", title_justify="left"
    )
    for name in (
        "CSM",
        f"book {unit}",
        "logos",
        f"ending {unit}",
        "NRR",
        "GRR",
        "churn",
        "churned",
        "contraction",
        f"{unit} lost",
    ):
        csm.add_column(name, justify="left" if name == "CSM" else "right")
    for row in (*result.csm, result.csm_total):
        total = row is result.csm_total
        csm.add_row(
            "Total" if total else row.owner,
            money(row.book_size),
            str(row.logos),
            money(row.ending_mrr),
            percent(row.nrr),
            percent(row.grr),
            money(row.churn),
            str(row.churned_customers),
            money(row.contraction),
            money(row.mrr_lost),
            style="bold" if total else None,
            end_section=row is (result.csm[-1] if result.csm else None),
        )
    am = Table(
        title=f"Account managers ({result.am_column}): expansion of their book, {span}",
        title_justify="left",
    )
    for name in (
        "account manager",
        f"book {unit}",
        "logos",
        "expansion",
        "= seats",
        "+ price",
        "+ cross-sell",
        "+ dropped",
        "expanding",
        "NRR",
    ):
        am.add_column(name, justify="left" if name == "account manager" else "right")
    for row in (*result.account_manager, result.account_manager_total):
        total = row is result.account_manager_total
        am.add_row(
            "Total" if total else row.owner,
            money(row.book_size),
            str(row.logos),
            money(row.expansion),
            *(money(getattr(row, c)) for c in CAUSES),
            str(row.expanding_customers),
            percent(row.nrr),
            style="bold" if total else None,
            end_section=row is (result.account_manager[-1] if result.account_manager else None),
        )
    return Group(csm, am)
