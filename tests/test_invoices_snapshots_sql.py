"""The invoice and snapshot adapters on their own: a source query in, a query of canonical
lines (text) out, on the intake's DuckDB engine, as `validate` reads it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from nrr.adapters import invoice_lines, snapshot_lines
from nrr.engines.duckdb import DuckDBEngine
from nrr.intake import Intake
from nrr.sources.files import ROW, RawSource


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    engine = DuckDBEngine.open()
    yield engine
    engine.close()


def source(
    engine: DuckDBEngine, columns: tuple[str, ...], rows: list[tuple[str, ...]]
) -> RawSource:
    """A source of text `columns`, numbered from row 2 as a CSV file with a header is."""
    name = engine.fresh_name("test_source")
    engine.load_rows(
        name,
        [*((c, "VARCHAR") for c in columns), (ROW, "BIGINT")],
        [(*row, number) for number, row in enumerate(rows, start=2)],
    )
    return RawSource(
        name="lines.csv", relation=f"SELECT * FROM {engine.quote(name)}", columns=columns
    )


def test_invoice_lines_net_into_one_line_per_period_with_its_row_count(engine):
    raw = source(
        engine,
        ("customer_id", "document", "line_type", "period_start", "period_end", "amount"),
        [
            ("a", "invoice", "recurring", "2024-01-01", "2024-02-01", "100"),
            ("a", "credit_note", "recurring", "2024-01-01", "2024-02-01", "-30"),
            ("a", "invoice", "tax", "2024-01-01", "2024-02-01", "20"),
            ("b", "invoice", "recurring", "2024-01-01", "2024-01-16", "15"),
        ],
    )
    intake = Intake()
    intake.open_account(raw, engine)
    lines = invoice_lines(engine, raw, intake, "USD")
    assert lines.columns == (
        "_nrows",
        "customer_id",
        "product",
        "start_date",
        "end_date",
        "amount",
        "interval",
        "quantity",
        "currency",
    )
    got = engine.fetch(f"SELECT * FROM ({lines.relation}) AS l ORDER BY {ROW}")
    assert got.columns == (ROW, *lines.columns)
    assert got.records() == [
        {
            ROW: 2,
            "_nrows": 2,
            "customer_id": "a",
            "product": "",
            "start_date": "2024-01-01",
            "end_date": "2024-02-01",
            "amount": "70.0000000000",
            "interval": "1.0000000000",
            "quantity": "1.0000000000",
            "currency": "USD",
        },
        {
            ROW: 5,
            "_nrows": 1,
            "customer_id": "b",
            "product": "",
            "start_date": "2024-01-01",
            "end_date": "2024-01-16",
            # 15 days: 15 x 487 over 15 x 16, one exact division in `validate`.
            "amount": "7305.0000000000",
            "interval": "240.0000000000",
            "quantity": "1.0000000000",
            "currency": "USD",
        },
    ]
    account = intake.account("lines.csv")
    assert (account.rows_used, dict(account.no_mrr)) == (1, {"tax lines": 1})


def test_quarantined_negative_net_keeps_every_source_value(engine):
    # A column name with a quote and a statement in it is a name, nothing more.
    odd = 'note"; DROP TABLE x; --'
    raw = source(
        engine,
        ("customer_id", "document", "period_start", "period_end", "amount", odd),
        [
            ("a", "invoice", "2024-01-01", "2024-02-01", "100", "kept"),
            ("b", "invoice", "2024-01-01", "2024-01-16", "40", "it's"),
            ("b", "refund", "2024-01-01", "2024-01-16", "60", ""),
        ],
    )
    intake = Intake(on_invalid="quarantine")
    intake.open_account(raw, engine)
    lines = invoice_lines(engine, raw, intake, "EUR")
    assert [r["customer_id"] for r in engine.fetch(lines.relation).records()] == ["a"]
    assert [(r.row, r.columns) for r in intake.rejections] == [(3, ("amount",)), (4, ("amount",))]
    assert intake.rejections[0].record[odd] == "it's"
    assert (
        "rows 3, 4 (b, product default, EUR, 2024-01-01 to 2024-01-16) net to -20"
        in (intake.rejections[0].reasons[0])
    )
    account = intake.account("lines.csv")
    assert account.rows_rejected == 2
    # -20 over 15 days: -20 x 487 / (15 x 16) a month, held to 10 decimals.
    assert account.mrr_rejected == {"EUR": Decimal("-40.5833333333")}


def test_snapshot_lines_cover_their_month_only(engine):
    raw = source(
        engine,
        ("customer_id", "month", "mrr", "currency"),
        [("a", "2024-12", "10.12345678", ""), ("a", "2025-02-28", "12", "gbp")],
    )
    intake = Intake()
    intake.open_account(raw, engine)
    lines = snapshot_lines(engine, raw, intake, "USD")
    assert lines.columns == (
        "customer_id",
        "product",
        "start_date",
        "end_date",
        "amount",
        "interval",
        "currency",
    )
    got = engine.fetch(f"SELECT * FROM ({lines.relation}) AS l ORDER BY {ROW}").rows
    assert got == [
        (2, "a", "", "2024-12-01", "2025-01-01", "10.12345678", "1", "USD"),
        (3, "a", "", "2025-02-01", "2025-03-01", "12.00000000", "1", "GBP"),
    ]
