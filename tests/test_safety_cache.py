"""The checked-copy cache (`nrr.sources.cache`) never serves wrong numbers: an entry is kept
only from the bytes its key names, is checked when read, is private to its owner and is
written whole or not at all."""

from __future__ import annotations

import logging
import os
import resource
import stat
import time
from pathlib import Path

import duckdb
import pytest

import nrr
import nrr.sources.cache as cache_module
import nrr.sources.cache_files as cache_files
from nrr.sources.cache import CheckedCache
from tests.conftest import SUB_HEADER, sub, write_csv


@pytest.fixture(autouse=True)
def _fresh_process():
    # Each test is a new command: no entry held and every note told again.
    yield
    for handle in cache_module._HELD.values():
        handle.close()
    cache_module._HELD.clear()
    cache_files._told.clear()


def _cache(tmp_path: Path) -> CheckedCache:
    return CheckedCache(tmp_path / "cache", smallest=0)


def _subs(tmp_path: Path, amount: int, rows: int = 1) -> Path:
    lines = [sub(f"c{n}", "2024-01-01", None, amount) for n in range(rows)]
    return write_csv(tmp_path / "subs.csv", SUB_HEADER, lines)


def _mrr(book: nrr.Book) -> object:
    return book.bridge("2024-12", "2024-12")[-1].ending_mrr


def _entries(kept: CheckedCache) -> list[Path]:
    return sorted(kept.directory.glob("*.parquet"))


def _rewrite_in_place(path: Path, old: bytes, new: bytes) -> None:
    """Change `path`'s bytes, keeping its size and modification time."""
    before = path.stat()
    data = path.read_bytes()
    assert len(old) == len(new) and old in data
    path.write_bytes(data.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_file_rewritten_in_place_while_read_is_not_kept_under_its_old_bytes(
    tmp_path, monkeypatch, caplog
):
    kept = _cache(tmp_path)
    path = _subs(tmp_path, 100)
    real = CheckedCache.write

    def rewritten_meanwhile(*args: object) -> object:
        # After the digest of the 100s was taken, before the rows are read: another
        # program rewrites the file in place, same size, same time.
        _rewrite_in_place(path, b",100,", b",700,")
        return real(*args)

    monkeypatch.setattr(CheckedCache, "write", rewritten_meanwhile)
    assert _mrr(nrr.load(path, cache=kept)) == 700  # what this load read
    monkeypatch.undo()
    assert _entries(kept) == []
    assert "subs.csv changed while nrr read it" in caplog.text
    # The file gets its first bytes back: their numbers, not the rows read from the others.
    _rewrite_in_place(path, b",700,", b",100,")
    assert _mrr(nrr.load(path, cache=kept)) == 100
    assert _mrr(nrr.load(path, cache=kept)) == 100  # now from its own entry
    assert len(_entries(kept)) == 1


def test_an_entry_edited_on_disk_is_removed_and_the_file_read_again(tmp_path, caplog):
    kept = _cache(tmp_path)
    path = _subs(tmp_path, 100)
    assert _mrr(nrr.load(path, cache=kept)) == 100
    [entry] = _entries(kept)
    # A valid Parquet file of the same columns and types with other numbers, put where the
    # entry was.
    edited = tmp_path / "edited.parquet"
    seven = (
        "CAST(amount * 7 AS DECIMAL(38, 10)) AS amount, "
        "CAST(mrr_local * 7 AS DECIMAL(20, 8)) AS mrr_local"
    )
    duckdb.sql(
        f"COPY (SELECT * REPLACE ({seven}) FROM read_parquet('{entry}')) "
        f"TO '{edited}' (FORMAT parquet)"
    )
    os.replace(edited, entry)
    assert _mrr(nrr.load(path, cache=kept)) == 100
    assert "changed since nrr wrote it; removed" in caplog.text
    # Read again from the text, the entry is made anew, and serves the right numbers.
    assert _mrr(nrr.load(path, cache=kept)) == 100
    assert len(_entries(kept)) == 1


def test_edited_notes_are_not_believed(tmp_path):
    kept = _cache(tmp_path)
    rows = [sub("a", "2024-01-01", None, 100)] * 2  # row 3 is a copy of row 2: a warning
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, rows)
    first = nrr.load(path, cache=kept).intake.warnings
    assert any("(row 3 = row 2)" in w for w in first)
    [notes] = kept.directory.glob("*.notes.json")
    notes.write_bytes(notes.read_bytes().replace(b"(row 3 = row 2)", b"(row 9 = row 8)"))
    assert nrr.load(path, cache=kept).intake.warnings == first


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}


def test_the_cache_is_private_even_in_a_folder_that_was_not(tmp_path):
    kept = _cache(tmp_path)
    kept.directory.mkdir()
    kept.directory.chmod(0o755)
    old = kept.directory / "0123.layout.json"  # left by an nrr before files were 0600
    old.write_text("{}")
    old.chmod(0o644)
    path = _subs(tmp_path, 100)
    assert _mrr(nrr.load(path, cache=kept)) == 100
    assert stat.S_IMODE(kept.directory.stat().st_mode) == 0o700
    modes = _modes(kept.directory)
    assert len(modes) == 4  # the old file, the entry's rows and notes, the layout
    assert set(modes.values()) == {0o600}
    kept.directory.chmod(0o755)  # widened again: narrowed when read
    assert _mrr(nrr.load(path, cache=kept)) == 100
    assert stat.S_IMODE(kept.directory.stat().st_mode) == 0o700


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_a_cache_folder_of_another_users_is_not_used(tmp_path, caplog):
    kept = _cache(tmp_path)
    kept.directory.mkdir(mode=0o777)
    kept.directory.chmod(0o777)
    os.chown(kept.directory, 54321, 54321)
    path = _subs(tmp_path, 100)
    for _ in range(2):
        assert _mrr(nrr.load(path, cache=kept)) == 100
    assert list(kept.directory.iterdir()) == []
    assert stat.S_IMODE(kept.directory.stat().st_mode) == 0o777  # not ours to change
    assert "belongs to another user; nrr does not use it" in caplog.text


def test_a_full_disk_leaves_no_partial_entry_and_the_numbers_right(tmp_path, caplog):
    kept = _cache(tmp_path)
    path = _subs(tmp_path, 100, rows=20_000)
    expected = _mrr(nrr.load(path, cache=False))
    # The system refuses to grow any file past 16 KB, as a full disk refuses every byte
    # (EFBIG rather than ENOSPC, through the same failed write): the rows' Parquet file is
    # larger, the notes and layout files smaller. Python ignores SIGXFSZ, so it is an error.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))
    try:
        book = nrr.load(path, cache=kept)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert _mrr(book) == expected
    assert list(kept.directory.iterdir()) == []
    assert "the cache could not keep a checked copy" in caplog.text
    # Room again: the next command keeps it.
    assert _mrr(nrr.load(path, cache=kept)) == expected
    assert len(_entries(kept)) == 1


def test_what_a_killed_run_left_is_never_read_and_is_cleaned_up(tmp_path):
    kept = _cache(tmp_path)
    kept.directory.mkdir(mode=0o700)
    stale = kept.directory / f".{'a' * 32}.parquet.part"
    stale.write_bytes(b"PAR1 half written")
    hour_ago = time.time() - 2 * 3600
    os.utime(stale, (hour_ago, hour_ago))
    recent = kept.directory / f".{'b' * 32}.parquet.part"  # maybe another run's, still going
    recent.write_bytes(b"PAR1 being written")
    path = _subs(tmp_path, 100)
    assert _mrr(nrr.load(path, cache=kept)) == 100
    assert not stale.exists()
    assert recent.read_bytes() == b"PAR1 being written"


def test_notes_go_to_stderr_once(tmp_path, capsys):
    # Without logging set up (the command line), a note is printed on stderr, once.
    logging.getLogger("nrr.cache").propagate = False
    try:
        blocked = tmp_path / "cache"
        blocked.write_text("a file where the folder should be")
        path = _subs(tmp_path, 100)
        for _ in range(2):
            assert _mrr(nrr.load(path, cache=CheckedCache(blocked, smallest=0))) == 100
    finally:
        logging.getLogger("nrr.cache").propagate = True
    err = capsys.readouterr().err
    assert err.count(f"note: the cache folder {blocked} is not a folder; nothing is kept") == 1
