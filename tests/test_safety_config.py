"""Settings files: one merely found in the current folder never says where data goes.

An `nrr.toml` that nrr finds by itself may change how numbers are computed and shown; the keys
that say where data is read from, sent or written (`url`, a database `engine`, `rejected`, an
input's `query`) are refused there with exit 2 and one line per key, and honoured from a file
named with --config. The file in use is always named on stderr. A settings "file" that is a
folder, nests too deeply, is not UTF-8 or is not TOML is the user's to fix: exit 2, one line.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nrr.cli import app

DATA = Path(__file__).parent / "data" / "adversarial"
DEFECTS = Path(__file__).parent.parent / "examples" / "defects" / "subscriptions.csv"
FOUND = "a settings file found in the current folder may not say where data is read from"
# Nothing listens on port 1: a connection there is refused at once, with no network wait.
CLOSED_DB = "postgresql://nobody@127.0.0.1:1/nowhere"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding the adversarial inputs; nrr runs inside it."""
    for name in ("subscriptions.csv", "customers.csv", "fx_rates.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


INPUTS = ["-s", "subscriptions.csv", "-c", "customers.csv", "--fx-rates", "fx_rates.csv"]


def nrr(*args: str):
    return CliRunner().invoke(app, list(args))


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_found_file_may_not_choose_the_engine(folder: Path) -> None:
    (folder / "nrr.toml").write_text(f'engine = "{CLOSED_DB}"\n')
    found = nrr("metrics", *INPUTS, "--end", "2024-06", "-f", "json")
    assert found.exit_code == 2, found.output
    assert error_lines(found.stderr) == [
        f"error: nrr.toml:engine: {FOUND}, sent or written; give --engine on the command "
        "line, or name this file with --config nrr.toml"
    ]
    assert found.stdout == ""
    # Named, the same file is honoured: nrr tries the database (nothing listens there).
    named = nrr("metrics", *INPUTS, "--end", "2024-06", "-f", "json", "--config", "nrr.toml")
    assert named.exit_code == 2, named.output
    assert FOUND not in named.stderr
    assert "cannot connect" in named.stderr and "127.0.0.1:1/nowhere" in named.stderr


def test_a_found_file_may_not_choose_where_rejected_rows_go(folder: Path) -> None:
    target = folder / "elsewhere" / "victim.csv"
    target.parent.mkdir()
    target.write_text("precious\n")
    shutil.copy(DEFECTS, folder / "defects.csv")
    (folder / "nrr.toml").write_text(f'rejected = "{target}"\non_invalid = "quarantine"\n')
    args = ["metrics", "-s", "defects.csv", "--end", "2024-06", "-f", "json"]
    found = nrr(*args)
    assert found.exit_code == 2, found.output
    assert error_lines(found.stderr) == [
        f"error: nrr.toml:rejected: {FOUND}, sent or written; give --rejected on the command "
        "line, or name this file with --config nrr.toml"
    ]
    assert target.read_text() == "precious\n"  # untouched
    named = nrr(*args, "--config", "nrr.toml")
    assert named.exit_code == 0, named.stderr
    assert f"rejected rows written to {target}" in named.stderr
    assert target.read_text().startswith('"source","row"')  # the rows, as the user asked


def test_a_found_file_may_not_name_a_database_or_run_a_query(folder: Path) -> None:
    (folder / "nrr.toml").write_text(
        f'url = "{CLOSED_DB}"\n'
        "[customers]\n"
        'query = "SELECT * FROM accounts"\n'
        "[usage]\n"
        'query = "SELECT * FROM usage"\n'
    )
    found = nrr("metrics", "-s", "subscriptions.csv", "--end", "2024-06")
    assert found.exit_code == 2
    lines = error_lines(found.stderr)
    assert [line.split(": a settings file")[0] for line in lines] == [
        "error: nrr.toml:url",
        "error: nrr.toml:customers.query",
        "error: nrr.toml:usage.query",
    ]
    assert "give --url on the command line" in lines[0]
    assert "give --customers on the command line" in lines[1]
    assert "give --usage on the command line" in lines[2]


def test_a_found_file_still_sets_how_numbers_are_counted(folder: Path) -> None:
    (folder / "nrr.toml").write_text(
        'currency = "USD"\n'
        'engine = "duckdb"\n'  # computing on this machine is no "where data goes"
        "reactivation_window = 2\n"
        "cache = false\n"
        "[subscriptions]\n"
        'path = "subscriptions.csv"\n'
        "[benchmarks.nrr]\n"
        'source = "Board plan"\n'
        'bands = [{from = 0.0, label = "below plan", tone = "bad"}]\n'
    )
    result = nrr("metrics", "-c", "customers.csv", "--fx-rates", "fx_rates.csv", "-f", "json")
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)  # stdout is the JSON document and nothing else
    assert "note: settings from ./nrr.toml (found in the current folder)" in result.stderr
    assert "a return after more than 2 months away is new" in result.stderr


def test_the_settings_file_in_use_is_named_on_stderr(folder: Path) -> None:
    team = folder / "team.toml"
    team.write_text("grace_days = 10\n")
    result = nrr("movements", *INPUTS, "--config", str(team), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert f"note: settings from {team} (--config)" in result.stderr
    json.loads(result.stdout)
    # Without a settings file there is nothing to name.
    plain = nrr("movements", *INPUTS, "-f", "json")
    assert "settings from" not in plain.stderr


def test_report_and_dashboard_read_settings_the_same_way(folder: Path) -> None:
    (folder / "nrr.toml").write_text(f'engine = "{CLOSED_DB}"\n')
    report = nrr("report", *INPUTS, "--out", "report.html")
    assert report.exit_code == 2 and "nrr.toml:engine: " + FOUND in report.stderr
    assert not (folder / "report.html").exists()
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    serve = nrr("serve", *INPUTS, "--port", str(port))
    assert serve.exit_code == 2 and "nrr.toml:engine: " + FOUND in serve.stderr


@pytest.mark.parametrize("where", ["--config .", "found"])
def test_a_folder_is_not_a_settings_file(folder: Path, where: str) -> None:
    if where == "found":
        (folder / "nrr.toml").mkdir()
        result = nrr("metrics", *INPUTS)
        name = "nrr.toml"
    else:
        result = nrr("metrics", *INPUTS, "--config", ".")
        name = "."
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {name}: is a folder, not a settings file\n"


def test_a_deeply_nested_settings_file_is_refused(folder: Path) -> None:
    deep = folder / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = nrr("metrics", *INPUTS, "--config", str(deep))
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"error: {deep}: is not a settings file: its tables or arrays nest too deeply to read\n"
    )
    tables = folder / "tables.toml"
    tables.write_text("x = " + "{a = " * 100_000 + "1" + "}" * 100_000 + "\n")
    result = nrr("metrics", *INPUTS, "--config", str(tables))
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {tables}: ")


def test_a_settings_file_that_is_not_utf8_or_not_toml_is_named(folder: Path) -> None:
    latin = folder / "latin.toml"
    latin.write_bytes('currency = "\xe9"\n'.encode("latin-1"))
    result = nrr("metrics", *INPUTS, "--config", str(latin))
    assert result.exit_code == 2
    assert result.stderr == f"error: {latin}: is not UTF-8 text (byte 12); save it as UTF-8\n"
    broken = folder / "broken.toml"
    broken.write_text("currency =\n")
    result = nrr("metrics", *INPUTS, "--config", str(broken))
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {broken}: is not valid TOML")
