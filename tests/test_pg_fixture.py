"""The PostgreSQL plumbing: a live server, a fresh database, COPY in, rows out."""

from __future__ import annotations

from pathlib import Path

from nrr.engines.postgres import PostgresEngine
from tests.conftest import write_csv
from tests.pg import copy_csv_to_table


def test_copy_csv_then_read_back(postgres_db: str, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "subs.csv",
        ["customer_id", "amount", "end_date"],
        [["c1", "10.50", "2024-03-01"], ["c2", "0.01", None], ["c,3", "7", '"quoted"']],
    )
    assert copy_csv_to_table(postgres_db, "subs", path, ["customer_id", "amount", "end_date"]) == 3

    engine = PostgresEngine.open(postgres_db)
    try:
        types = engine.fetch(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'subs' ORDER BY ordinal_position"
        ).rows
        assert dict(types) == {"customer_id": "text", "amount": "text", "end_date": "text"}
        assert engine.scalar("SELECT COUNT(*) FROM subs") == 3
        rows = engine.fetch("SELECT * FROM subs ORDER BY customer_id").records()
    finally:
        engine.close()
    assert [r["customer_id"] for r in rows] == ["c,3", "c1", "c2"]
    assert [r["amount"] for r in rows] == ["7", "10.50", "0.01"]
    # an empty field loads as NULL; quotes inside a field survive
    assert rows[2]["end_date"] is None
    assert rows[0]["end_date"] == '"quoted"'
