"""Tables, JSON, CSV and DataFrames for `nrr causes` and `nrr owners`.

Amounts are rounded to cents only here (half to even); each part is rounded on its own, so a
printed total can differ from the sum of its printed parts by a cent per part.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
from rich.console import Group
from rich.table import Table

from nrr.analysis.causes import CAUSES, CauseLine, CauseParts, CausesResult
from nrr.analysis.owners import AccountManagerRow, CsmRow, OwnersResult
from nrr.attributes import ALL
from nrr.present.machine import records_csv
from nrr.present.tables import money, percent
from nrr.records.rounding import money_number, ratio

__all__ = [
    "DETAIL_ROWS",
    "causes_csv",
    "causes_frame",
    "causes_json",
    "causes_tables",
    "detail_frame",
    "owners_csv",
    "owners_frame",
    "owners_json",
    "owners_tables",
]

# How many customer x product rows the table shows with --detail; JSON and CSV give all.
DETAIL_ROWS = 20
PART_KEYS = ("total", *CAUSES, "customers")
DETAIL_KEYS = (
    "customer_id",
    "product",
    "segment",
    "movement",
    "mrr_start",
    "mrr_end",
    "quantity_start",
    "quantity_end",
    "amount",
    *CAUSES,
)
CSM_KEYS = (
    "book_size",
    "logos",
    "ending_mrr",
    "nrr",
    "grr",
    "churn",
    "churned_customers",
    "contraction",
    "mrr_lost",
)
AM_KEYS = (
    "book_size",
    "logos",
    "ending_mrr",
    "nrr",
    "expansion",
    *CAUSES,
    "expanding_customers",
)
_LABELS = {
    "seats": "= seats",
    "price": "+ price",
    "cross_sell": "+ cross-sell",
    "dropped": "+ dropped",
}


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _quantity(value: Decimal) -> str:
    # 25.0000000000 -> 25, 2.5000000000 -> 2.5, never an exponent.
    return format(value.normalize(), "f") if value else "0"


def _context(result: CausesResult | OwnersResult) -> dict[str, object]:
    return {
        "start": result.start,
        "end": result.end,
        "window_months": result.window_months,
        "currency": result.currency,
        "fx_mode": result.fx_mode,
    }


# --- causes ---------------------------------------------------------------------------------


def parts_record(parts: CauseParts) -> dict[str, object]:
    record: dict[str, object] = {
        key: money_number(getattr(parts, key)) for key in ("total", *CAUSES)
    }
    record["customers"] = parts.customers
    return record


def _split_records(result: CausesResult) -> list[dict[str, object]]:
    """One record per (segment, movement), the whole book (`(all)`) first."""
    groups = [(ALL, result.overall), *result.segments]
    return [
        {"segment": name, "movement": movement, **parts_record(getattr(split, movement))}
        for name, split in groups
        for movement in ("expansion", "contraction")
    ]


def detail_record(line: CauseLine) -> dict[str, object]:
    record: dict[str, object] = {
        "customer_id": line.customer_id,
        "product": line.product,
        "segment": line.segment,
        "movement": line.movement,
        "mrr_start": money_number(line.mrr_start),
        "mrr_end": money_number(line.mrr_end),
        "quantity_start": float(line.quantity_start),
        "quantity_end": float(line.quantity_end),
        "amount": money_number(line.amount),
    }
    record.update({name: money_number(getattr(line, name)) for name in CAUSES})
    return record


def causes_json(result: CausesResult) -> str:
    record: dict[str, object] = {
        **_context(result),
        "overall": {
            m: parts_record(getattr(result.overall, m)) for m in ("expansion", "contraction")
        },
        "segments": [
            {
                "segment": name,
                **{m: parts_record(getattr(split, m)) for m in ("expansion", "contraction")},
            }
            for name, split in result.segments
        ],
    }
    if result.detail is not None:
        record["detail"] = [_detail_for(result, line) for line in result.detail]
    return json.dumps(record, indent=2)


def _detail_for(result: CausesResult, line: CauseLine) -> dict[str, object]:
    record = detail_record(line)
    if result.by is None:
        del record["segment"]
    return record


def causes_csv(result: CausesResult) -> str:
    """Long format: one row per (segment, movement); with detail, one per customer x product."""
    context = _context(result)
    if result.detail is not None:
        keys = [k for k in DETAIL_KEYS if result.by is not None or k != "segment"]
        header = [*context, *keys]
        rows = [
            {
                **context,
                **_detail_for(result, line),
                # exact digits in CSV (JSON numbers are floats)
                "quantity_start": _quantity(line.quantity_start),
                "quantity_end": _quantity(line.quantity_end),
            }
            for line in result.detail
        ]
        return records_csv(header, rows)
    header = [*context, "segment", "movement", *PART_KEYS]
    return records_csv(header, [{**context, **r} for r in _split_records(result)])


def causes_frame(result: CausesResult) -> pd.DataFrame:
    frame = pd.DataFrame(_split_records(result)).set_index(["segment", "movement"])
    frame.attrs.update(_context(result), by=result.by)
    return frame


def detail_frame(result: CausesResult) -> pd.DataFrame:
    if result.detail is None:
        raise ValueError("no detail: compute the causes with detail=True")
    columns = list(DETAIL_KEYS)
    rows = [detail_record(line) for line in result.detail]
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs.update(_context(result), by=result.by)
    return frame


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


def _owner_record(row: CsmRow | AccountManagerRow, keys: tuple[str, ...]) -> dict[str, object]:
    record: dict[str, object] = {"owner": row.owner}
    for key in keys:
        value = getattr(row, key)
        if key in ("nrr", "grr"):
            record[key] = _number(ratio(value))
        elif isinstance(value, Decimal):
            record[key] = money_number(value)
        else:
            record[key] = value
    return record


def owners_json(result: OwnersResult) -> str:
    record = {
        **_context(result),
        "columns": {"csm": result.csm_column, "account_manager": result.am_column},
        "csm": [_owner_record(r, CSM_KEYS) for r in result.csm],
        "account_manager": [_owner_record(r, AM_KEYS) for r in result.account_manager],
        "total": {
            "csm": _owner_record(result.csm_total, CSM_KEYS),
            "account_manager": _owner_record(result.account_manager_total, AM_KEYS),
        },
    }
    return json.dumps(record, indent=2)


def _owner_records(result: OwnersResult) -> list[dict[str, object]]:
    csm = [result.csm_total, *result.csm]
    am = [result.account_manager_total, *result.account_manager]
    return [{"role": "csm", **_owner_record(r, CSM_KEYS)} for r in csm] + [
        {"role": "account_manager", **_owner_record(r, AM_KEYS)} for r in am
    ]


def _owner_header() -> list[str]:
    return ["role", "owner", *CSM_KEYS, *(k for k in AM_KEYS if k not in CSM_KEYS)]


def owners_csv(result: OwnersResult) -> str:
    """Long format: one row per (role, owner); `(all)` first in each role; blanks where a
    column belongs to the other role."""
    context = _context(result)
    header = [*context, *_owner_header()]
    return records_csv(header, [{**context, **r} for r in _owner_records(result)])


def owners_frame(result: OwnersResult) -> pd.DataFrame:
    frame = pd.DataFrame(_owner_records(result), columns=_owner_header())
    frame = frame.set_index(["role", "owner"])
    frame.attrs.update(_context(result), csm_column=result.csm_column, am_column=result.am_column)
    return frame


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
