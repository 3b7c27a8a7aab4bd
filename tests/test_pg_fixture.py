"""The PostgreSQL plumbing: a live server, a fresh database, COPY in, ibis out."""

from __future__ import annotations

from pathlib import Path

import ibis

from tests.conftest import write_csv
from tests.pg import copy_csv_to_table


def test_copy_csv_then_read_back_with_ibis(postgres_db: str, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "subs.csv",
        ["customer_id", "amount", "end_date"],
        [["c1", "10.50", "2024-03-01"], ["c2", "0.01", None], ["c,3", "7", '"quoted"']],
    )
    assert copy_csv_to_table(postgres_db, "subs", path, ["customer_id", "amount", "end_date"]) == 3

    con = ibis.connect(postgres_db)
    try:
        table = con.table("subs")
        assert dict(table.schema().items()) == {
            "customer_id": ibis.dtype("string"),
            "amount": ibis.dtype("string"),
            "end_date": ibis.dtype("string"),
        }
        assert table.count().execute() == 3
        rows = table.order_by("customer_id").to_pyarrow().to_pylist()
    finally:
        con.disconnect()
    assert [r["customer_id"] for r in rows] == ["c,3", "c1", "c2"]
    assert [r["amount"] for r in rows] == ["7", "10.50", "0.01"]
    # an empty field loads as NULL; quotes inside a field survive
    assert rows[2]["end_date"] is None
    assert rows[0]["end_date"] == '"quoted"'
