"""Hostile file shapes are refused quickly, with one line naming the file: a header of a
million columns, a row of 50 MB, a megabyte in one cell (docs/inputs.md, "Limits")."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from nrr.errors import InputError

MAX_COLUMNS, MAX_ROW_CHARS = 1000, 1 << 20  # nrr.sources.csv_layout; docs/inputs.md

runner = CliRunner()


def movements(path: Path) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["movements", "--subscriptions", str(path), "--start", "2024-01", "--end", "2024-01"],
        env={"NRR_CACHE_DIR": "off"},
    )
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stderr


def test_a_million_empty_columns_are_refused(tmp_path):
    # 2 MB: a header and a row of a million separators each. Naming the columns was quadratic
    # (each new name looked up in a list of the names before it): hours for this file.
    path = tmp_path / "wide.csv"
    path.write_text("," * 1_000_000 + "\n" + "," * 1_000_000 + "\n")
    code, err = movements(path)
    assert code == 2
    assert f"wide.csv: has 1,000,001 columns, more than the {MAX_COLUMNS:,} nrr reads" in err


def test_a_header_longer_than_the_first_bytes_read_is_refused(tmp_path):
    # A header longer than the 64 KB sniffed goes to the row-by-row scan, which refuses it as
    # soon as the header is read.
    path = tmp_path / "wide.csv"
    names = ",".join(f"c{i}" for i in range(20_000))
    path.write_text(f"customer_id,start_date,amount,{names}\n" + "a,2024-01-01,1" + "," * 20_000)
    with pytest.raises(InputError, match="has 20,003 columns, more than the 1,000"):
        nrr.load(path, cache=False)


def test_the_widest_file_allowed_is_read(tmp_path):
    path = tmp_path / "wide.csv"
    extra = MAX_COLUMNS - 3
    path.write_text(
        "customer_id,start_date,amount" + "".join(f",x{i}" for i in range(extra)) + "\n"
        "a,2024-01-01,10" + "," * extra + "\n"
    )
    book = nrr.load(path, cache=False)
    assert book.bridge("2024-01", "2024-01")[0].ending_mrr == 10


def test_many_empty_header_names_cost_linear_time(tmp_path):
    # Each empty name becomes column<N>: unique, and found unique without a quadratic search.
    path = tmp_path / "empty.csv"
    path.write_text("," * (MAX_COLUMNS - 1) + "\n" + "," * (MAX_COLUMNS - 1) + "\n")
    with pytest.raises(InputError, match="missing required column"):
        nrr.load(path, cache=False)


def test_a_wide_parquet_file_is_refused_from_its_footer(tmp_path):
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": [1] for i in range(MAX_COLUMNS + 1)}), path)
    with pytest.raises(InputError, match=r"wide.parquet: has 1,001 columns"):
        nrr.load(path, cache=False)


def test_a_wide_dataframe_is_refused():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({f"c{i}": ["1"] for i in range(MAX_COLUMNS + 1)})
    with pytest.raises(InputError, match="has 1,001 columns"):
        nrr.load(frame, cache=False)


@pytest.mark.parametrize("size", [3 * MAX_ROW_CHARS, 50_000_000])
def test_a_single_data_row_too_long_is_refused_not_dropped(tmp_path, size):
    # DuckDB's reader returned no rows at all (no error) for a file whose one data row is
    # longer than its line limit: the file read as empty, exit 0.
    path = tmp_path / "cell.csv"
    path.write_text("customer_id,start_date,amount\na,2024-01-01," + "9" * size + "\n")
    code, err = movements(path)
    assert code == 2
    assert f"cell.csv:2: the row is longer than {MAX_ROW_CHARS:,} characters" in err


def test_a_long_value_is_quoted_short_in_messages(tmp_path):
    path = tmp_path / "long.csv"
    row = "a,2024-01-01," + "1x" * 50_000 + "\n"
    path.write_text("customer_id,start_date,amount\n" + row * 3)
    code, err = movements(path)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 3 and all(len(line) < 400 for line in lines)
    assert "long.csv:2:amount: amount is '1x1x" in lines[0]
    assert "... (100,000 characters)', not a number" in lines[0]
