"""Checked copies of clean CSV files, kept between commands.

Reading and checking a large CSV file is most of what a command costs, and an analyst runs
several commands over the same export. A file read straight from disk (`files.Unnumbered`)
is checked into a Parquet file here (`begin`, `write`), which becomes an entry when every row
passes (`adopt`), with the warnings about its rows beside it; the command itself reads that
file too. The next command over the same bytes, checked the same way, reads the entry
instead of the text.

An entry is named by a SHA-256 digest of the file's bytes and of the query that checked it.
The query holds every setting that shapes the rows (base currency, the first month of each
rate, the column mapping, the checks themselves) and the reader's options (separator, rows
skipped), so changing one byte of the file or any setting names a different entry. A file
with any problem is never kept: the careful path that names problems always reads the text.
Nor is a file whose size or time changed while it was read. Each file's layout (separator,
header) is remembered by the digest of its bytes too, so a file seen before skips the pass
over them.

The cache is a folder (`NRR_CACHE_DIR`, else `$XDG_CACHE_HOME/nrr`, else `~/.cache/nrr`)
readable by its owner only. Files under 8 MB are not kept: they are read about as quickly as
their entry is found. It holds at most `NRR_CACHE_SIZE` bytes (default 2 GB); the entries
used least recently go first, except those a running process reads. `NRR_CACHE_DIR=off`,
`nrr.load(cache=False)`, `cache = false` in nrr.toml or `--no-cache` turn it off. A cache
that cannot be written (a read-only disk, a full one) is skipped: the command still runs, from
the text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows: entries are not protected from trimming while in use
    fcntl = None  # type: ignore[assignment]

import duckdb
import ibis
import ibis.expr.types as ir

from nrr import sqltext
from nrr.errors import InputError, Problem
from nrr.sources.csv_layout import Layout

__all__ = ["CheckedCache", "Kept", "default_cache"]

# Bumped whenever what an entry holds changes in a way its key does not show.
# 2: rows in file order without their numbers (`CheckedCache.rows`).
# 3: the checking query's own output (with its flag column), notes beside it in JSON.
_FORMAT = 3
_DEFAULT_LIMIT = 2 * 1024**3
# About 150,000 lines: below this, reading the text is about as quick as finding its entry.
_SMALLEST = 8 * 1024**2
_READERS = re.compile(r'"(ibis_read_csv_[0-9a-z]+)"')
_NOTES = ".notes.json"
_STALE_SECONDS = 3600  # a half-written entry older than this was left by a process that died


@dataclass(frozen=True)
class Kept:
    """An entry: the checked rows (`KEY.parquet`) and the warnings first found about them
    (`KEY.notes.json`)."""

    path: Path
    notes: tuple[str, ...]


@dataclass(frozen=True)
class CheckedCache:
    """A folder of checked tables, each a Parquet file named by its key."""

    directory: Path
    limit: int = _DEFAULT_LIMIT
    smallest: int = _SMALLEST

    def worth(self, file: Path) -> bool:
        """Whether keeping `file` pays: a small file is read and checked in less time than
        its key takes to work out."""
        try:
            return file.stat().st_size >= self.smallest
        except OSError:
            return False

    @staticmethod
    def digest(file: Path) -> str:
        """The SHA-256 digest of `file`'s bytes."""
        with file.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()

    @staticmethod
    def stamp(file: Path) -> tuple[int, int]:
        """`file`'s size and modification time: taken before its digest and again before
        its rows are kept, so a file written to while nrr read it (an export still running)
        is never kept under the digest of other bytes."""
        stat = file.stat()
        return stat.st_size, stat.st_mtime_ns

    def layout(self, digest: str) -> Layout | None:
        """The layout found before in a file with these bytes (`csv_layout.quick_layout`, a
        function of the bytes alone), or None."""
        path = self.directory / f"{digest}.layout.json"
        try:
            os.utime(path)
            found = json.loads(path.read_text())
            columns = tuple(found.pop("columns"))
            return Layout(columns=columns, **found)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def remember_layout(self, digest: str, layout: Layout) -> None:
        """Keep the layout of the file with these bytes, for `layout`."""
        data = json.dumps(dataclasses.asdict(layout)).encode()
        self._write(f"{digest}.layout.json", lambda part: part.write_bytes(data))

    def key(self, con: ibis.BaseBackend, digest: str, sql: str, *parts: object) -> str:
        """The entry for the query `sql` over the file whose bytes have `digest`, under
        `parts` (anything else that shapes the stored rows): file bytes, query text, reader
        options and versions."""
        key = hashlib.sha256(digest.encode())
        # A reader's view has a fresh random name in every process: key on what it reads.
        for name in sorted(set(_READERS.findall(sql))):
            sql = sql.replace(f'"{name}"', f"({_view_sql(con, name)})")
        versions = (_FORMAT, _nrr_version(), duckdb.__version__)
        key.update(repr((versions, sql, parts)).encode())
        return key.hexdigest()

    def find(self, key: str) -> Kept | None:
        """The entry `key`, marked as just used, or None when there is none."""
        path = self.directory / f"{key}.parquet"
        try:
            written = self.directory / f"{key}{_NOTES}"
            notes = json.loads(written.read_text(encoding="utf-8"))
            os.utime(path)
            os.utime(written)  # used as recently as its rows, so trimmed with them
            _hold(path)  # only an entry that will be read
        except (OSError, ValueError):
            return None
        return Kept(path, tuple(notes))

    @staticmethod
    def rows(con: ibis.BaseBackend, path: Path, column: str, first: int) -> ir.Table:
        """The rows of the Parquet file `path` (an entry, or one being written), numbered in
        `column` from `first` by their place in the file. Row numbers are not stored (about
        0.2 s of writing at 3M rows): the rows are in file order, and Parquet's reader knows
        each row's place."""
        return con.sql(
            f'SELECT file_row_number + {first:d} AS "{column}", * EXCLUDE (file_row_number) '
            f"FROM read_parquet({sqltext.string(path.as_posix())}, file_row_number = true)"
        )

    @staticmethod
    def write(con: ibis.BaseBackend, sql: str, part: Path) -> None:
        """Run the query `sql` into the file `part` (from `begin`), rows in order."""
        con.raw_sql(f"COPY ({sql}) TO {sqltext.string(part.as_posix())} (FORMAT parquet)")

    def begin(self) -> Path | None:
        """A new file in the cache's folder for the checking query to write its rows into,
        for `adopt` once they pass; None when the folder cannot be written."""
        part = self.directory / f".{uuid.uuid4().hex}.parquet.part"
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            part.touch(mode=0o600, exist_ok=False)
        except OSError:
            return None
        return part

    def adopt(self, part: Path, key: str, notes: list[str]) -> Path | None:
        """Make `part` (from `begin`, rows that passed every check) the entry `key`, with
        its `notes`, held by this process; then trim the cache to its size limit. None when
        it cannot be: `part` is then still there, for the caller to read and `discard`."""
        data = json.dumps(notes, ensure_ascii=False).encode()
        if self._write(f"{key}{_NOTES}", lambda p: p.write_bytes(data)) is None:
            return None
        path = self.directory / f"{key}.parquet"
        try:
            handle = part.open("rb")
        except OSError:
            return None
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_SH)  # the lock follows the file through its rename
        try:
            os.replace(part, path)
        except OSError:
            handle.close()
            return None
        _HELD.setdefault(path, handle)
        self._trim(keep=path)
        return path

    @staticmethod
    def discard(part: Path) -> None:
        """Remove a file from `begin` that will not be an entry."""
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)

    def _write(self, name: str, write: Callable[[Path], object]) -> Path | None:
        """`write` a file beside `name`, then rename it to `name`: readers (other commands,
        maybe reading the old one) see the whole file or none. None when it failed."""
        part = self.directory / f".{name}.{uuid.uuid4().hex}.part"
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            write(part)
            os.replace(part, self.directory / name)
        except (OSError, duckdb.Error):
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            return None
        return self.directory / name

    def _trim(self, keep: Path) -> None:
        try:
            found = {p: p.stat() for p in self.directory.iterdir()}
        except OSError:
            return
        now = time.time()
        notes = {p for p in found if p.name.endswith(_NOTES)}
        for path, stat in found.items():
            orphan = path in notes and _rows_of(path) not in found
            if (path.suffix == ".part" or orphan) and now - stat.st_mtime > _STALE_SECONDS:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
        # An entry's rows and notes go together, counted as one, as recently used as its rows.
        units = sorted(
            (
                (stat.st_mtime, stat.st_size + _size_of(found.get(_notes_of(path))), path)
                for path, stat in found.items()
                if path.suffix == ".parquet" or (path.suffix == ".json" and path not in notes)
            ),
            reverse=True,
        )
        total = 0
        for _, size, path in units:
            total += size
            if total > self.limit and path != keep and _remove_unless_held(path):
                with contextlib.suppress(OSError):
                    _notes_of(path).unlink(missing_ok=True)


def _notes_of(rows: Path) -> Path:
    return rows.with_name(rows.name.removesuffix(".parquet") + _NOTES)


def _rows_of(notes: Path) -> Path:
    return notes.with_name(notes.name.removesuffix(_NOTES) + ".parquet")


def _size_of(stat: os.stat_result | None) -> int:
    return 0 if stat is None else stat.st_size


# The entries this process reads. DuckDB opens a file again for each query, so an entry must
# outlive every query of the process that found it (`nrr serve` runs for days): each is held
# with a shared lock until the process ends, and `_trim` passes over entries someone holds.
_HELD: dict[Path, IO[bytes]] = {}


def _hold(path: Path) -> None:
    if path in _HELD:
        return
    handle = path.open("rb")
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_SH)
    _HELD[path] = handle


def _remove_unless_held(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink()
    except OSError:
        return False  # held by a process that reads it, or gone already
    return True


def default_cache(setting: CheckedCache | str | Path | bool | None = None) -> CheckedCache | None:
    """The cache `setting` asks for: True or None for the default folder (`NRR_CACHE_DIR`,
    `XDG_CACHE_HOME`), a folder, a `CheckedCache`, or False (none). `NRR_CACHE_DIR=off` turns
    the default off."""
    if setting is False:
        return None
    if isinstance(setting, CheckedCache):
        return setting
    limit = _size(os.environ.get("NRR_CACHE_SIZE"))
    if isinstance(setting, str | Path):
        return CheckedCache(Path(setting), limit)
    chosen = os.environ.get("NRR_CACHE_DIR", "").strip()
    if chosen.lower() in {"off", "0", "false", "no", "none"}:
        return None
    if chosen:
        return CheckedCache(Path(chosen), limit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return CheckedCache(Path(base) / "nrr", limit)


def _size(text: str | None) -> int:
    if not text:
        return _DEFAULT_LIMIT
    units = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?)\s*", text.upper())
    if match is None:
        raise InputError(
            Problem(source="NRR_CACHE_SIZE", message=f"{text!r} is not a size such as 2GB")
        )
    number, unit = match.groups()
    unit = unit if unit.endswith("B") or not unit else unit + "B"
    return int(float(number) * units[unit])


def _nrr_version() -> str:
    try:
        return version("nrr")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _view_sql(con: ibis.BaseBackend, name: str) -> str:
    raw = getattr(con, "con", None)
    if not isinstance(raw, duckdb.DuckDBPyConnection):
        return name
    found = raw.execute(
        f"SELECT sql FROM duckdb_views() WHERE view_name = {sqltext.string(name)}"
    ).fetchone()
    # Without its definition the key stays unique to this process: a miss, never a wrong hit.
    return str(found[0]).replace(name, "source") if found else name
