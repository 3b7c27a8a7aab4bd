"""Checked copies of clean CSV files (`nrr.sources.cache`): a second load of the same bytes
with the same settings reads the kept copy, with the same rows, row numbers, warnings and
account; any change of byte or setting is a different entry; a file with a problem is never
kept; a cache that cannot be written costs nothing but time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import nrr
import nrr.screen as screen
import nrr.sources.cache as cache_module
import nrr.sources.files as files
import nrr.validate as validate
from nrr.errors import InputError
from nrr.sources.cache import CheckedCache, default_cache
from tests.conftest import SUB_HEADER, sub, write_csv

# Past one of DuckDB's row groups (122,880 rows), so the kept copy is written and read back
# in several pieces and its row numbers are really tested.
ROWS = 130_000


def _rows(n: int) -> list[list[object]]:
    # Customer `c<row>` is on spreadsheet row <row> (the header is row 1).
    return [sub(f"c{row}", "2024-01-01", None, row % 997 + 1) for row in range(2, n + 2)]


@pytest.fixture(scope="module")
def long_file(tmp_path_factory) -> Path:
    rows = _rows(ROWS)
    rows.append(rows[15])  # a copy of row 17 at the last row: a warning names both rows
    return write_csv(tmp_path_factory.mktemp("kept") / "subs.csv", SUB_HEADER, rows)


def _cache(tmp_path: Path, **kwargs: int) -> CheckedCache:
    return CheckedCache(tmp_path / "cache", smallest=0, **kwargs)


def _entries(kept: CheckedCache) -> list[Path]:
    return sorted(kept.directory.glob("*.parquet")) if kept.directory.exists() else []


def _figures(book: nrr.Book) -> tuple[object, ...]:
    window = book.window("2024-12", window=12)
    bridge = book.bridge("2024-01", "2024-12")
    return window.overall, [(m.month, m.new, m.ending_mrr, m.active_customers) for m in bridge]


def _mrr(book: nrr.Book) -> object:
    return book.bridge("2024-12", "2024-12")[-1].ending_mrr


def _forbid(monkeypatch, module: object, name: str) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{name} ran on a load the cache should have served")

    monkeypatch.setattr(module, name, refuse)


def test_a_second_load_reads_the_kept_copy(long_file, tmp_path, monkeypatch):
    kept = _cache(tmp_path)
    first = nrr.load(long_file, cache=kept)
    assert len(_entries(kept)) == 1
    expected = _figures(first)
    # Served from the copy: nothing is stored, checked, warned about or written again.
    _forbid(monkeypatch, CheckedCache, "begin")
    _forbid(monkeypatch, validate, "line_warnings")
    _forbid(monkeypatch, screen, "_watch")  # wraps storing the checked rows
    _forbid(monkeypatch, files, "quick_layout")  # the pass over the bytes
    second = nrr.load(long_file, cache=kept)
    assert _figures(second) == expected
    assert second.intake.warnings == first.intake.warnings
    assert any(f"row {ROWS + 2} = row 17" in w for w in second.intake.warnings)
    account = second.intake.account("subs.csv")
    assert (account.rows_read, account.rows_used) == (ROWS + 1, ROWS + 1)
    lines = second.lines
    others = lines[lines.customer_id != "c17"]
    wrong = others[others._row != others.customer_id.str[1:].astype("int64")]
    assert len(wrong) == 0
    assert sorted(lines[lines.customer_id == "c17"]._row) == [17, ROWS + 2]


def test_one_changed_byte_is_a_different_entry(tmp_path):
    kept = _cache(tmp_path)
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, [sub("a", "2024-01-01", None, 100)])
    stat = path.stat()
    assert _mrr(nrr.load(path, cache=kept)) == 100
    # Same size, same modification time: only the bytes say the file changed.
    path.write_bytes(path.read_bytes().replace(b",100,", b",700,"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert _mrr(nrr.load(path, cache=kept)) == 700
    assert len(_entries(kept)) == 2


def test_a_file_written_to_while_read_is_not_kept(tmp_path, monkeypatch):
    kept = _cache(tmp_path)
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, [sub("a", "2024-01-01", None, 100)])
    real = files.quick_layout

    def still_exporting(*args: object) -> object:
        layout = real(*args)
        with path.open("a") as handle:  # the export goes on after the digest was taken
            handle.write("b,core,2024-01-01,,50,month,1,USD\r\n")
        return layout

    monkeypatch.setattr(files, "quick_layout", still_exporting)
    assert _mrr(nrr.load(path, cache=kept)) == 150
    assert _entries(kept) == []
    assert not list(kept.directory.glob("*.json"))
    assert not list(kept.directory.glob(".*.part"))  # its rows were written, then read back


def test_a_setting_that_shapes_the_rows_is_a_different_entry(tmp_path):
    kept = _cache(tmp_path)
    rows = [sub("a", "2024-01-01", None, 100, currency="")]  # blank: the base currency
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, rows)
    assert nrr.load(path, cache=kept).currencies == ["USD"]
    assert nrr.load(path, cache=kept, currency="EUR").currencies == ["EUR"]
    assert nrr.load(path, cache=kept, currency="EUR").currencies == ["EUR"]
    assert len(_entries(kept)) == 2


def test_a_file_with_a_problem_is_never_kept(tmp_path):
    kept = _cache(tmp_path)
    rows = [sub("a", "2024-01-01", None, 100), sub("b", "2024-01-01", None, "12,5")]
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, rows)
    for _ in range(2):
        with pytest.raises(InputError) as caught:
            nrr.load(path, cache=kept)
        assert "subs.csv:3:amount" in str(caught.value)
    book = nrr.load(path, cache=kept, on_invalid="quarantine")
    assert [r.row for r in book.intake.rejections] == [3]
    assert _entries(kept) == []
    assert not list(kept.directory.glob(".*.part"))  # the checked rows written, then dropped


def test_customers_are_kept_and_a_repeated_id_never_is(tmp_path, monkeypatch):
    kept = _cache(tmp_path)
    subs = write_csv(tmp_path / "subs.csv", SUB_HEADER, [sub("a", "2024-01-01", None, 100)])
    customers = write_csv(tmp_path / "customers.csv", ["customer_id", "segment"], [["a", "SMB"]])
    nrr.load(subs, customers=customers, cache=kept)
    assert len(_entries(kept)) == 2
    _forbid(monkeypatch, CheckedCache, "begin")
    book = nrr.load(subs, customers=customers, cache=kept)
    assert book.values("segment") == ["SMB"]
    monkeypatch.undo()
    twice = write_csv(tmp_path / "twice.csv", ["customer_id", "segment"], [["a", "SMB"]] * 2)
    for _ in range(2):
        with pytest.raises(InputError, match=r"twice\.csv:3:customer_id"):
            nrr.load(subs, customers=twice, cache=kept)
    assert len(_entries(kept)) == 2


def _end_of_process() -> None:
    # A process holds the entries its books read until it ends (`test_an_entry_in_use...`).
    for handle in cache_module._HELD.values():
        handle.close()
    cache_module._HELD.clear()


def test_the_least_recently_used_entries_go_past_the_limit(tmp_path):
    kept = _cache(tmp_path, limit=1)  # room for nothing but the entry just written
    paths = [
        write_csv(tmp_path / f"subs{n}.csv", SUB_HEADER, [sub("a", "2024-01-01", None, n + 1)])
        for n in range(3)
    ]
    for path in paths:
        _end_of_process()
        nrr.load(path, cache=kept)
        assert len(_entries(kept)) == 1
        assert len(list(kept.directory.glob("*.notes.json"))) == 1  # trimmed with its rows
    roomy = _cache(tmp_path)
    for path in paths:
        nrr.load(path, cache=roomy)
    assert len(_entries(roomy)) == 3


def test_an_entry_in_use_outlives_a_trim(tmp_path):
    roomy = _cache(tmp_path)
    first = write_csv(tmp_path / "a.csv", SUB_HEADER, [sub("a", "2024-01-01", None, 100)])
    other = write_csv(tmp_path / "b.csv", SUB_HEADER, [sub("b", "2024-01-01", None, 200)])
    nrr.load(first, cache=roomy)
    book = nrr.load(first, cache=roomy)  # read from its entry, which it now holds
    nrr.load(other, cache=_cache(tmp_path, limit=1))
    assert len(_entries(roomy)) == 2
    assert _mrr(book) == 100


def test_an_unwritable_cache_costs_nothing_but_time(tmp_path):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the folder should be")
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, [sub("a", "2024-01-01", None, 100)])
    book = nrr.load(path, cache=CheckedCache(blocked, smallest=0))
    assert _mrr(book) == 100
    assert blocked.read_text() == "a file where the folder should be"


def test_small_files_and_no_cache_are_not_kept(tmp_path):
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, [sub("a", "2024-01-01", None, 100)])
    nrr.load(path, cache=CheckedCache(tmp_path / "cache"))  # under the default 8 MB
    nrr.load(path, cache=False)
    assert not (tmp_path / "cache").exists()


def test_where_the_cache_is(tmp_path, monkeypatch):
    monkeypatch.setenv("NRR_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("NRR_CACHE_SIZE", "3 MB")
    assert default_cache() == CheckedCache(tmp_path / "mine", 3 * 1024**2)
    assert default_cache(False) is None
    assert default_cache(tmp_path / "there").directory == tmp_path / "there"
    monkeypatch.setenv("NRR_CACHE_DIR", "off")
    assert default_cache() is None
    monkeypatch.delenv("NRR_CACHE_DIR")
    monkeypatch.delenv("NRR_CACHE_SIZE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache() == CheckedCache(tmp_path / "xdg" / "nrr")
    monkeypatch.setenv("NRR_CACHE_SIZE", "lots")
    with pytest.raises(InputError, match="NRR_CACHE_SIZE: 'lots' is not a size such as 2GB"):
        default_cache()
    assert cache_module._size("1.5GB") == int(1.5 * 1024**3)


def _nrr(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nrr.cli", *args],
        capture_output=True,
        text=True,
        env=os.environ | env,
        check=False,
    )


def test_the_command_line_keeps_large_files_unless_told_not_to(tmp_path):
    # Over the 8 MB below which files are not kept, in few lines: long product names.
    rows = [
        sub(f"c{n}", "2024-01-01", None, 10, product="p" * 200 + str(n % 3)) for n in range(40_000)
    ]
    big = write_csv(tmp_path / "big.csv", SUB_HEADER, rows)
    assert big.stat().st_size > 8 * 1024**2
    folder = tmp_path / "cache"
    args = ["metrics", "-s", str(big), "--end", "2024-12", "-f", "json"]
    off = _nrr(*args, "--no-cache", env={"NRR_CACHE_DIR": str(folder)})
    assert off.returncode == 0, off.stderr
    assert not folder.exists()
    runs = [_nrr(*args, env={"NRR_CACHE_DIR": str(folder)}) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0]
    assert runs[0].stdout == runs[1].stdout == off.stdout
    assert runs[0].stderr == runs[1].stderr == off.stderr
    assert len(list(folder.glob("*.parquet"))) == 1
    # `cache = false` in the settings file, and a flag that wins over it.
    other = tmp_path / "other"
    settings = tmp_path / "nrr.toml"
    settings.write_text("cache = false\n")
    quiet = _nrr(*args, "--config", str(settings), env={"NRR_CACHE_DIR": str(other)})
    assert quiet.returncode == 0, quiet.stderr
    assert not other.exists()
    loud = _nrr(*args, "--config", str(settings), "--cache", env={"NRR_CACHE_DIR": str(other)})
    assert loud.returncode == 0, loud.stderr
    assert len(list(other.glob("*.parquet"))) == 1
    bad = _nrr(*args, env={"NRR_CACHE_DIR": str(folder), "NRR_CACHE_SIZE": "lots"})
    assert bad.returncode == 2
    assert "NRR_CACHE_SIZE: 'lots' is not a size such as 2GB" in bad.stderr
