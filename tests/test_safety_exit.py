"""Every mistake of the user is exit 2 with one clear line (and `nrr.InputError` from Python);
exit 1 is kept for bugs in nrr. Each case here used to end in an internal error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from tests.conftest import SUB_HEADER, sub, write_csv

runner = CliRunner()


@pytest.fixture
def subs(tmp_path: Path) -> Path:
    rows = [
        sub("acme", "2024-01-15", None, 1200, "year", quantity=10),
        sub("globex", "2024-03-10", "2024-09-10", 250),
        sub("initech", "2024-02-01", None, 500),
    ]
    return write_csv(tmp_path / "subs.csv", SUB_HEADER, rows)


def _fails_cleanly(args: list[str], *needles: str) -> str:
    """Run `nrr args`: exit 2 and one `error:` line on stderr that says each of `needles`."""
    result = runner.invoke(app, args)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2, result.stderr
    assert "internal error" not in result.stderr
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0]
    return errors[0]


def test_db_that_is_a_csv_file(subs: Path) -> None:
    _fails_cleanly(["metrics", "-s", str(subs), "--db", str(subs)], "--db", "not a DuckDB")


def test_db_that_is_garbage(subs: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(bytes(range(256)) * 40)
    _fails_cleanly(["metrics", "--db", str(junk)], "--db", "not a DuckDB")


def test_two_names_mapped_to_one_column(subs: Path) -> None:
    _fails_cleanly(
        ["metrics", "-s", str(subs), "--map", "amount=x", "--map", "quantity=x"],
        "--map",
        "'x' is mapped to amount and quantity",
    )


def test_one_name_mapped_twice(subs: Path) -> None:
    _fails_cleanly(
        ["metrics", "-s", str(subs), "--map", "amount=x", "--map", "amount=y"],
        "amount is mapped twice",
    )


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("command", "flag", "value"),
    [
        (["metrics"], "--window", HUGE),
        (["metrics"], "--window", "0"),
        (["metrics"], "--reactivation-window", HUGE),
        (["metrics"], "--reactivation-window", "0"),
        (["metrics"], "--grace-days", HUGE),
        (["metrics"], "--grace-days", "-1"),
        (["methods"], "--window", HUGE),
        (["rates"], "--window", HUGE),
        (["causes"], "--window", HUGE),
        (["impact", "--by", "cohort"], "--window", HUGE),
        (["trends"], "--windows", HUGE),
        (["whatif"], "--years", HUGE),
        (["whatif"], "--horizon", HUGE),
    ],
)
def test_out_of_range_integers(subs: Path, command: list[str], flag: str, value: str) -> None:
    _fails_cleanly([*command, "-s", str(subs), "--end", "2024-08", flag, value], flag)


def test_demo_with_too_many_customers(tmp_path: Path) -> None:
    _fails_cleanly(["demo", "--out", str(tmp_path / "d"), "--customers", HUGE], "--customers")


def test_malformed_memory_limit(subs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for text in ("zz", "1GB'; SELECT 1; --"):
        monkeypatch.setenv("NRR_MEMORY_LIMIT", text)
        _fails_cleanly(["metrics", "-s", str(subs)], "NRR_MEMORY_LIMIT", "not a size")


def test_memory_limit_too_low_to_read(subs: Path) -> None:
    env = os.environ | {"NRR_MEMORY_LIMIT": "1MB"}
    out = subprocess.run(
        [sys.executable, "-m", "nrr.cli", "report", "-s", str(subs), "--no-cache", "-o",
         str(subs.parent / "r.html")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out.stderr
    assert "NRR_MEMORY_LIMIT" in errors[0] and "too low" in errors[0]


def test_memory_limit_too_low_for_a_query(subs: Path) -> None:
    """A real out-of-memory inside a metric's query, from Python: an InputError."""
    book = nrr.load(subs, cache=False)
    book.engine.execute("SET memory_limit = '2MB'")
    with pytest.raises(nrr.InputError, match="NRR_MEMORY_LIMIT"):
        book.metrics("2024-08", by="cohort")


@pytest.mark.parametrize("name", ["q'uote", 'dq"uote', "both'\"x"])
def test_tmpdir_with_quotes(subs: Path, tmp_path: Path, name: str) -> None:
    """TMPDIR is pasted into nrr's own SQL (the spill folder): a quote in it is a character
    of the name. A cache folder with quotes works too, written and then read."""
    folder = tmp_path / name
    folder.mkdir()
    script = (
        "import nrr\n"
        "from nrr.sources.cache import CheckedCache\n"
        "import sys\n"
        "from pathlib import Path\n"
        "cache = CheckedCache(Path(sys.argv[2]), smallest=0)\n"
        "for _ in range(2):\n"
        "    book = nrr.load(sys.argv[1], cache=cache)\n"
        "    print(book.metrics('2024-08')['nrr'].iloc[0])\n"
    )
    env = os.environ | {"TMPDIR": str(folder)}
    out = subprocess.run(
        [sys.executable, "-c", script, str(subs), str(folder / "cache")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert any((folder / "cache").iterdir())
    cli = subprocess.run(
        [sys.executable, "-m", "nrr.cli", "metrics", "-s", str(subs), "--end", "2024-08"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr


# From Python: odd DataFrames and arguments of the wrong kind raise InputError.


def _frame(columns: object) -> pd.DataFrame:
    return pd.DataFrame([[1, 2]], columns=columns)


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        (_frame(["customer_id", "customer_id"]), "appears twice"),
        (_frame(["customer_id", "Customer_ID "]), "appears twice"),
        (_frame(pd.MultiIndex.from_tuples([("a", "b"), ("c", "d")])), "MultiIndex"),
        (pd.DataFrame(), "no columns"),
        (_frame([0, 1]), "not a text name"),
    ],
)
def test_odd_dataframes(frame: pd.DataFrame, says: str) -> None:
    with pytest.raises(nrr.InputError, match=says):
        nrr.load(frame)


def test_odd_customers_dataframe(subs: Path) -> None:
    with pytest.raises(nrr.InputError, match="customers DataFrame"):
        nrr.load(subs, customers=_frame(["customer_id", "customer_id"]))


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        ({"subscriptions": 42}, "subscriptions"),
        ({"customers": [1, 2]}, "customers"),
        ({"currency": 5}, "currency"),
        ({"db": 3}, "db"),
        ({"url": 3}, "url"),
        ({"engine": 3}, "engine"),
        ({"columns": ["a"]}, "--map"),
        ({"columns": {"amount": 5}}, "--map"),
        ({"conventions": "x"}, "conventions"),
        ({"max_problems": "x"}, "max_problems"),
        ({"cache": 3}, "cache"),
    ],
)
def test_load_arguments_of_the_wrong_kind(
    subs: Path, arguments: dict[str, object], names: str
) -> None:
    given = {"subscriptions": subs} | arguments
    with pytest.raises(nrr.InputError) as raised:
        nrr.load(**given)  # type: ignore[arg-type]
    assert raised.value.problems[0].source == names


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> nrr.Book:
    folder = tmp_path_factory.mktemp("book")
    rows = [sub("acme", "2024-01-15", None, 100), sub("globex", "2024-03-10", None, 250)]
    return nrr.load(write_csv(folder / "subs.csv", SUB_HEADER, rows), cache=False)


@pytest.mark.parametrize(
    ("call", "flag"),
    [
        (lambda b: b.window(end=2024), "--end"),
        (lambda b: b.window("2024-08", window="12"), "--window"),
        (lambda b: b.window("2024-08", window=True), "--window"),
        (lambda b: b.window("2024-08", window=10**20), "--window"),
        (lambda b: b.metrics("2024-08", by=3), "--by"),
        (lambda b: b.methods("2024-08", window=1.5), "--window"),
        (lambda b: b.trends("2024-08", windows=10**20), "--windows"),
        (lambda b: b.where("cohort", 3), "--filter"),
        (lambda b: b.whatif("2024-08", years="5"), "--years"),
        (lambda b: b.whatif("2024-08", seed="1"), "--seed"),
    ],
)
def test_book_arguments_of_the_wrong_kind(book: nrr.Book, call, flag: str) -> None:
    with pytest.raises(nrr.InputError) as raised:
        call(book)
    assert raised.value.problems[0].source == flag


def test_conventions_out_of_range() -> None:
    from nrr.conventions import Conventions

    with pytest.raises(nrr.InputError, match="--reactivation-window"):
        Conventions(reactivation_window=10**20)
    with pytest.raises(nrr.InputError, match="--grace-days"):
        Conventions(grace_days="30")  # type: ignore[arg-type]
