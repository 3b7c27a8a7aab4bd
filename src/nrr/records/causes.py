"""`nrr causes` and `nrr owners` as records: their JSON, their long rows and their DataFrames.

Amounts are rounded to cents only in records (half to even); each part is rounded on its own,
so a total can differ from the sum of its rounded parts by a cent per part.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from nrr.analysis.causes import CAUSES, CauseLine, CauseParts, CausesResult
from nrr.analysis.owners import AccountManagerRow, CsmRow, OwnersResult
from nrr.attributes import ALL
from nrr.records.rounding import money_number, ratio

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AM_KEYS",
    "CSM_KEYS",
    "DETAIL_KEYS",
    "PART_KEYS",
    "causes_frame",
    "causes_record",
    "detail_for",
    "detail_frame",
    "detail_record",
    "owner_header",
    "owner_records",
    "owners_frame",
    "owners_record",
    "parts_record",
    "split_records",
    "window_context",
]

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


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def window_context(result: CausesResult | OwnersResult) -> dict[str, object]:
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


def split_records(result: CausesResult) -> list[dict[str, object]]:
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


def causes_record(result: CausesResult) -> dict[str, object]:
    """The JSON: the window, the whole book's and each slice's parts, and any detail."""
    record: dict[str, object] = {
        **window_context(result),
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
        record["detail"] = [detail_for(result, line) for line in result.detail]
    return record


def detail_for(result: CausesResult, line: CauseLine) -> dict[str, object]:
    record = detail_record(line)
    if result.by is None:
        del record["segment"]
    return record


def causes_frame(result: CausesResult) -> pd.DataFrame:
    import pandas as pd  # only for a DataFrame: commands never pay for it

    frame = pd.DataFrame(split_records(result)).set_index(["segment", "movement"])
    frame.attrs.update(window_context(result), by=result.by)
    return frame


def detail_frame(result: CausesResult) -> pd.DataFrame:
    import pandas as pd  # only for a DataFrame: commands never pay for it

    if result.detail is None:
        raise ValueError("no detail: compute the causes with detail=True")
    columns = list(DETAIL_KEYS)
    rows = [detail_record(line) for line in result.detail]
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs.update(window_context(result), by=result.by)
    return frame


# --- owners ---------------------------------------------------------------------------------


def owner_record(row: CsmRow | AccountManagerRow, keys: tuple[str, ...]) -> dict[str, object]:
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


def owners_record(result: OwnersResult) -> dict[str, object]:
    """The JSON: the window, the owner columns, each role's owners and their totals."""
    return {
        **window_context(result),
        "columns": {"csm": result.csm_column, "account_manager": result.am_column},
        "csm": [owner_record(r, CSM_KEYS) for r in result.csm],
        "account_manager": [owner_record(r, AM_KEYS) for r in result.account_manager],
        "total": {
            "csm": owner_record(result.csm_total, CSM_KEYS),
            "account_manager": owner_record(result.account_manager_total, AM_KEYS),
        },
    }


def owner_records(result: OwnersResult) -> list[dict[str, object]]:
    csm = [result.csm_total, *result.csm]
    am = [result.account_manager_total, *result.account_manager]
    return [{"role": "csm", **owner_record(r, CSM_KEYS)} for r in csm] + [
        {"role": "account_manager", **owner_record(r, AM_KEYS)} for r in am
    ]


def owner_header() -> list[str]:
    return ["role", "owner", *CSM_KEYS, *(k for k in AM_KEYS if k not in CSM_KEYS)]


def owners_frame(result: OwnersResult) -> pd.DataFrame:
    import pandas as pd  # only for a DataFrame: commands never pay for it

    frame = pd.DataFrame(owner_records(result), columns=owner_header())
    frame = frame.set_index(["role", "owner"])
    frame.attrs.update(
        window_context(result), csm_column=result.csm_column, am_column=result.am_column
    )
    return frame
