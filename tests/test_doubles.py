"""The double-count warnings against a plain Python reading of their rule, on random lines:
exact copies, and lines that start while an earlier line of the same customer and product is
still in service (earlier = by start date, then row; a line without an end never ends)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nrr.doubles import line_warnings
from nrr.engines.duckdb import DuckDBEngine

NEVER = date(9999, 12, 31)
ENGINE = DuckDBEngine.open()
SCHEMA = {
    "_row": "BIGINT",
    "customer_id": "VARCHAR",
    "product": "VARCHAR",
    "currency": "VARCHAR",
    "start_date": "DATE",
    "end_date": "DATE",
    "start_m": "BIGINT",
    "end_m": "BIGINT",
    "amount": "DECIMAL(38, 10)",
    "interval_months": "DECIMAL(38, 10)",
    "quantity": "DECIMAL(38, 10)",
    "mrr_local": "DECIMAL(20, 8)",
}

line = st.tuples(
    st.sampled_from(["a", "b"]),  # customer
    st.sampled_from(["core", "core", "addon"]),  # product
    st.integers(0, 12),  # start, in months from 2024-01
    st.one_of(st.none(), st.integers(0, 6)),  # length in months; None: no end
    st.sampled_from([1, 15]),  # day of the month it starts and ends
    st.sampled_from([Decimal("0"), Decimal("10"), Decimal("25.5")]),  # amount
)


def _month(offset: int, day: int) -> date:
    return date(2024 + offset // 12, offset % 12 + 1, day)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    records = []
    for number, (customer, product, start, length, day, amount) in enumerate(rows, start=2):
        begin = _month(start, day)
        end = None if length is None else _month(start + length, day)
        records.append(
            {
                "_row": number,
                "customer_id": customer,
                "product": product,
                "currency": "USD",
                "start_date": begin,
                "end_date": end,
                "start_m": begin.year * 12 + begin.month - 1,
                "end_m": None if end is None else end.year * 12 + end.month - 1,
                "amount": amount,
                "interval_months": Decimal(1),
                "quantity": Decimal(1),
                "mrr_local": amount,
            }
        )
    return pd.DataFrame(records)


def _expected(frame: pd.DataFrame) -> tuple[list[int], list[int]]:
    """Rows that copy an earlier line, and rows that overlap an earlier line."""
    live = [
        r
        for r in frame.to_dict("records")
        if r["mrr_local"] > 0 and (pd.isna(r["end_m"]) or r["end_m"] > r["start_m"])
    ]
    same = ("customer_id", "product", "currency", "start_date", "end_date", "amount")
    seen: set[tuple] = set()
    copies = []
    for r in sorted(live, key=lambda r: r["_row"]):
        key = tuple(None if pd.isna(r[c]) else r[c] for c in same)
        if key in seen:
            copies.append(r["_row"])
        seen.add(key)
    overlaps = []
    for group in {(r["customer_id"], r["product"]) for r in live}:
        members = sorted(
            (r for r in live if (r["customer_id"], r["product"]) == group),
            key=lambda r: (r["start_date"], r["_row"]),
        )
        reach = None
        for r in members:
            if reach is not None and reach > r["start_date"] and r["_row"] not in copies:
                overlaps.append(r["_row"])
            end = NEVER if pd.isna(r["end_date"]) else r["end_date"]
            reach = end if reach is None else max(reach, end)
    return sorted(copies), sorted(overlaps)


def _reported(warnings: list[str]) -> tuple[int, int, list[int], list[int]]:
    copies = overlaps = 0
    copy_rows: list[int] = []
    overlap_rows: list[int] = []
    for text in warnings:
        count = int(re.search(r"(\d+) lines? ", text.replace(",", "")).group(1))
        shown = [int(n) for n in re.findall(r"row (\d+)", text)]
        if "exact cop" in text:
            copies, copy_rows = count, shown[0::2]
        else:
            overlaps, overlap_rows = count, shown
    return copies, overlaps, copy_rows, overlap_rows


TEN = Decimal("10")


@settings(max_examples=80, deadline=None)
@given(st.lists(line, min_size=1, max_size=14))
# Lines that follow each other end to start do not overlap, in pairs and in longer chains;
# one that starts a day before the end of an earlier one does, and so does a copy's copy.
@example([("a", "core", 0, 2, 1, TEN), ("a", "core", 2, None, 1, TEN)])
@example([("a", "core", 0, 2, 1, TEN), ("a", "core", 2, 2, 1, TEN), ("a", "core", 4, None, 1, TEN)])
@example(
    [("a", "core", 0, 3, 1, TEN), ("a", "core", 2, 2, 15, TEN), ("a", "core", 4, None, 1, TEN)]
)
@example([("b", "addon", 1, None, 1, TEN)] * 3 + [("b", "addon", 3, 1, 15, TEN)])
def test_warnings_follow_their_rule(rows: list[tuple]) -> None:
    frame = _frame(rows)
    name = ENGINE.fresh_name("lines")
    values = frame[list(SCHEMA)].astype(object)
    rows = values.where(values.notna(), None).itertuples(index=False)
    ENGINE.load_rows(name, list(SCHEMA.items()), list(rows))
    copies, overlaps = _expected(frame)
    got = _reported(line_warnings(ENGINE, name, "lines.csv"))
    assert got == (len(copies), len(overlaps), copies[:3], overlaps[:3])
