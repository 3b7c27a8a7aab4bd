"""Data safety of what nrr writes (docs/cli.md, "Data safety"): an output is never an input,
every file is written atomically, a path that cannot be written is exit 2 naming it, and CSV
text a spreadsheet would execute is neutralised."""

from __future__ import annotations

import csv
import errno
import io
from collections.abc import Callable
from pathlib import Path

import pyarrow.csv
import pytest
from click.testing import Result
from typer.testing import CliRunner

from nrr.cli import app
from nrr.errors import InputError
from nrr.outputs import atomic_path, refuse_overwriting_inputs, spreadsheet_safe, write_text
from nrr.present.machine import records_csv

runner = CliRunner()

HYPERLINK = '=HYPERLINK("http://x","y")'
SUBSCRIPTIONS = (
    "customer_id,start_date,end_date,amount\n"
    f'"{HYPERLINK.replace(chr(34), chr(34) * 2)}",2024-01-01,,100\n'
    "b,2024-01-01,2024-03-31,50\n"
    "c,2024-02-01,,30\n"
    "d,2024-02-01,,not a number\n"  # rejected under quarantine, so --rejected is written
)
CUSTOMERS = (
    f'customer_id,segment\n"{HYPERLINK.replace(chr(34), chr(34) * 2)}",@SUM(1)\nb,-12.5\nc,SMB\n'
)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the inputs, made the current folder (paths are given as a user types
    them)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "subs.csv").write_text(SUBSCRIPTIONS)
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    (tmp_path / "sub").mkdir()
    return tmp_path


def nrr(*args: str) -> Result:
    return runner.invoke(app, list(args))


def one_error(result: Result, *needles: str) -> str:
    """The exit is 2 with exactly one `error:` line, naming each of `needles`."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.stderr
    assert "internal error" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# The same file under other spellings: a symlink to it, `./`, through an existing folder,
# through a folder that does not exist yet (nrr would make it, then write over the input).
SPELLINGS: dict[str, Callable[[Path], str]] = {
    "symlink": lambda d: (d / "link.csv").symlink_to(d / "subs.csv") or "link.csv",
    "dot": lambda d: "./subs.csv",
    "dotdot": lambda d: "./sub/../subs.csv",
    "dotdot_missing_folder": lambda d: "./new/../subs.csv",
    "absolute": lambda d: str(d / "subs.csv"),
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_rejected_rows_never_overwrite_the_subscriptions(data: Path, spelling: str) -> None:
    before = (data / "subs.csv").read_bytes()
    target = SPELLINGS[spelling](data)
    result = nrr("metrics", "-s", "subs.csv", "--on-invalid", "quarantine",
                 "--rejected", target, "-f", "json")  # fmt: skip
    one_error(result, "--rejected", str(Path(target)), "same file", "--subscriptions")
    assert (data / "subs.csv").read_bytes() == before
    assert not (data / "new").exists()


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_report_never_overwrites_an_input(data: Path, spelling: str) -> None:
    before = (data / "subs.csv").read_bytes()
    target = SPELLINGS[spelling](data)
    # The customers file does not exist: the refusal comes before anything is read.
    result = nrr("report", "-s", "subs.csv", "-c", "missing.csv", "--out", target)
    one_error(result, "--out", str(Path(target)), "same file", "--subscriptions")
    assert (data / "subs.csv").read_bytes() == before
    assert result.stdout == ""


def test_every_kind_of_input_is_protected(data: Path) -> None:
    (data / "nrr.toml").write_text('currency = "USD"\n')
    for option, name in [("--customers", "customers.csv"), ("--config", "nrr.toml")]:
        before = (data / name).read_bytes()
        result = nrr("report", "-s", "subs.csv", option, name, "--out", f"sub/../{name}")
        one_error(result, "--out", option)
        assert (data / name).read_bytes() == before
    # The settings file nrr finds by itself is an input too.
    result = nrr("report", "-s", "subs.csv", "--out", "nrr.toml")
    one_error(result, "--out", "settings file")
    # And a DuckDB file named by URL.
    (data / "book.duckdb").write_bytes(b"not read")
    result = nrr("report", "--url", f"duckdb://{data}/book.duckdb", "-s", "subscriptions",
                 "--out", "book.duckdb")  # fmt: skip
    one_error(result, "--out", "--url")
    assert (data / "book.duckdb").read_bytes() == b"not read"


def test_two_outputs_are_never_the_same_file(data: Path) -> None:
    result = nrr("report", "-s", "subs.csv", "--on-invalid", "quarantine",
                 "--rejected", "out.html", "--out", "./out.html")  # fmt: skip
    one_error(result, "--out", "same file as the output --rejected")


def test_a_folder_given_as_the_file_is_exit_2(data: Path) -> None:
    result = nrr("metrics", "-s", "subs.csv", "--on-invalid", "quarantine",
                 "--rejected", "/")  # fmt: skip
    one_error(result, "--rejected", "/ is a folder")
    result = nrr("report", "-s", "subs.csv", "--out", "sub")
    one_error(result, "--out", "sub is a folder")


def test_a_path_under_a_file_is_exit_2_naming_the_file(data: Path) -> None:
    result = nrr("report", "-s", "subs.csv", "--out", "customers.csv/report.html")
    one_error(result, "--out", "customers.csv is a file, not a folder")
    result = nrr("metrics", "-s", "subs.csv", "--on-invalid", "quarantine",
                 "--rejected", "customers.csv/deeper/r.csv")  # fmt: skip
    one_error(result, "--rejected", "customers.csv is a file, not a folder")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_disk_is_exit_2_naming_the_path(data: Path) -> None:
    result = nrr("metrics", "-s", "subs.csv", "--on-invalid", "quarantine",
                 "--rejected", "/dev/full", "-f", "json")  # fmt: skip
    one_error(result, "/dev/full", "No space left on device")


def _unwritable_folder() -> Path | None:
    # sysfs refuses new files even to root, for whom a chmod-ed folder is still writable.
    folder = Path("/sys")
    try:
        (folder / ".nrr-probe").touch()
    except OSError:
        return folder
    (folder / ".nrr-probe").unlink()
    return None


@pytest.mark.skipif(_unwritable_folder() is None, reason="no folder that refuses writes")
def test_a_folder_that_refuses_writes_is_exit_2_naming_the_path(data: Path) -> None:
    target = str(_unwritable_folder() / "rejected.csv")  # type: ignore[operator]
    result = nrr("metrics", "-s", "subs.csv", "--on-invalid", "quarantine",
                 "--rejected", target, "-f", "json")  # fmt: skip
    one_error(result, target, "cannot be written")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "nrr-tmp" in p.name)


def test_a_write_that_fails_midway_leaves_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("previous")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        with temp.open("w") as handle:
            handle.write("half of the new")
            handle.flush()
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "previous"
    assert _leftovers(tmp_path) == []
    write_text(target, "new")
    assert target.read_text() == "new"
    assert _leftovers(tmp_path) == []


def test_rejected_rows_on_a_disk_that_fills_midway(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (data / "rejected.csv").write_text("previous rejected rows\n")
    real = pyarrow.csv.write_csv

    def fills_up(table, path, *args, **kwargs):
        real(table.slice(0, 0), path, *args, **kwargs)  # the header made it to disk
        raise OSError(errno.ENOSPC, "Error writing bytes to file")

    monkeypatch.setattr(pyarrow.csv, "write_csv", fills_up)
    result = nrr("metrics", "-s", "subs.csv", "--on-invalid", "quarantine",
                 "--rejected", "rejected.csv", "-f", "json")  # fmt: skip
    one_error(result, "rejected.csv", "No space left on device")
    assert (data / "rejected.csv").read_text() == "previous rejected rows\n"
    assert _leftovers(data) == []


def test_a_symlinked_output_is_written_through(tmp_path: Path) -> None:
    (tmp_path / "real.html").write_text("old")
    (tmp_path / "link.html").symlink_to(tmp_path / "real.html")
    write_text(tmp_path / "link.html", "new")
    assert (tmp_path / "link.html").is_symlink()
    assert (tmp_path / "real.html").read_text() == "new"


def test_the_rejected_rows_are_replaced_whole(data: Path) -> None:
    (data / "rejected.csv").write_text("x" * 100_000)
    result = nrr("metrics", "-s", "subs.csv", "--on-invalid", "quarantine",
                 "--rejected", "rejected.csv", "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((data / "rejected.csv").read_text())))
    assert [r["row"] for r in rows] == ["5"]
    assert _leftovers(data) == []


def test_refusal_passes_over_inputs_that_are_not_files(tmp_path: Path) -> None:
    refuse_overwriting_inputs(
        {"--out": tmp_path / "out.html"},
        {"--subscriptions": "billing.subscriptions", "--customers": None, "--usage": object()},
    )
    with pytest.raises(InputError):
        refuse_overwriting_inputs({"--out": tmp_path}, {})


# Spreadsheet formula injection (OWASP, "CSV Injection").


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("@SUM(1)", "'@SUM(1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.5", "-12.5"),  # a number written as text is read as that number, never run
        ("+3", "+3"),
        ("SMB", "SMB"),
        ("", ""),
        (-12.5, -12.5),
        (0, 0),
    ],
)
def test_spreadsheet_safe(cell: object, shown: object) -> None:
    assert spreadsheet_safe(cell) == shown


def test_records_csv_neutralises_text_and_leaves_numbers() -> None:
    text = records_csv(["segment", "churn", "=name"], [{"segment": "@SUM(1)", "churn": -12.5}])
    assert text == "segment,churn,'=name\n'@SUM(1),-12.5,\n"


def test_attribute_values_in_csv_output_are_neutralised(data: Path) -> None:
    result = nrr("movements", "-s", "subs.csv", "-c", "customers.csv", "--by", "segment",
                 "--end", "2024-04", "-f", "csv", "--on-invalid", "quarantine",
                 "--rejected", "rejected.csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # Text that is a number ("-12.5") is left as it is: a spreadsheet reads it as a number.
    assert {r["segment"] for r in rows} == {"'@SUM(1)", "-12.5", "SMB"}
    churned = [r for r in rows if r["segment"] == "-12.5" and r["month"] == "2024-03"]
    assert churned[0]["churn"] == "50.0"


def test_customer_ids_in_csv_output_are_neutralised(data: Path) -> None:
    (data / "usage.csv").write_text(
        f'customer_id,date,metric,value\n"{HYPERLINK.replace(chr(34), chr(34) * 2)}",'
        "2024-03-01,logins,3\nc,2024-03-02,logins,4\n"
    )
    result = nrr("health", "-s", "subs.csv", "-c", "customers.csv", "--usage", "usage.csv",
                 "-f", "csv", "--on-invalid", "quarantine", "--rejected", "r.csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    ids = [r["customer_id"] for r in csv.DictReader(io.StringIO(result.stdout))]
    assert "'" + HYPERLINK in ids and HYPERLINK not in ids


def test_rejected_rows_file_is_neutralised(data: Path) -> None:
    # The file's name is the rejected rows' source; a file name may start with "@".
    (data / "@subs.csv").write_text(
        "customer_id,start_date,end_date,amount\na,2024-01-01,,100\n@SUM(1),2024-01-01,,=1+1\n"
    )
    result = nrr("metrics", "-s", "@subs.csv", "--on-invalid", "quarantine",
                 "--rejected", "rejected.csv", "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((data / "rejected.csv").read_text())))
    assert [(r["source"], r["row"]) for r in rows] == [("'@subs.csv", "3")]
    assert all(not str(v).startswith(("=", "+", "-", "@")) for v in rows[0].values())


def test_pngs_are_replaced_only_when_every_chart_is_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kaleido
    import plotly.graph_objects as go

    from nrr.present import png

    monkeypatch.setattr(png, "find_browser", lambda: "/usr/bin/chromium")
    figures = {"waterfall": go.Figure(), "trends": go.Figure()}
    for name in figures:
        (tmp_path / f"{name}.png").write_bytes(b"previous " + name.encode())

    def misses_the_trends(jobs, **kwargs):  # kaleido returns a chart's error, never raises
        for job in jobs:
            if "trends" not in job["path"].name:
                job["path"].write_bytes(b"\x89PNG new")
        return [RuntimeError("chart timed out")]

    monkeypatch.setattr(kaleido, "write_fig_from_object_sync", misses_the_trends)
    with pytest.raises(InputError, match=r"did not draw trends\.png"):
        png.write_pngs(figures, tmp_path)
    for name in figures:
        assert (tmp_path / f"{name}.png").read_bytes() == b"previous " + name.encode()
    assert _leftovers(tmp_path) == []

    def draws_all(jobs, **kwargs):
        for job in jobs:
            job["path"].write_bytes(b"\x89PNG new")

    monkeypatch.setattr(kaleido, "write_fig_from_object_sync", draws_all)
    assert png.write_pngs(figures, tmp_path) == [
        tmp_path / "waterfall.png",
        tmp_path / "trends.png",
    ]
    assert {(tmp_path / f"{name}.png").read_bytes() for name in figures} == {b"\x89PNG new"}
    assert _leftovers(tmp_path) == []
