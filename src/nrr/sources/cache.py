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
Nor is a file whose bytes changed while it was read: its digest is taken again after every
read of it, and the entry kept only when both agree (`adopt`). Each file's layout (separator,
header) is remembered by the digest of its bytes too, with its entry, so a file seen before
skips the pass over them.

An entry's notes are sealed (`cache_files.seal`) and name its key and the SHA-256 digest of
its Parquet file, which `find` checks on every read: an entry changed on disk is removed and
the file read again. Its files are written whole or not at all (`begin`, `adopt`).

The cache is a folder (`NRR_CACHE_DIR`, else `$XDG_CACHE_HOME/nrr`, else `~/.cache/nrr`)
private to its owner: 0700, its files 0600; one of another user's is not used. Files under
8 MB are not kept: they are read about as quickly as their entry is found. It holds at most
`NRR_CACHE_SIZE` bytes (default 2 GB); the entries used least recently go first, except those
a running process reads. `NRR_CACHE_DIR=off`, `nrr.load(cache=False)`, `cache = false` in
nrr.toml or `--no-cache` turn it off. A cache that cannot be written (a read-only disk, a full
one) is skipped, with a note: the command still runs, from the text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import stat
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows: entries are not protected from trimming while in use
    fcntl = None  # type: ignore[assignment]

import duckdb

from nrr import sqltext
from nrr.engines.base import Engine
from nrr.errors import InputError, Problem
from nrr.sources.cache_files import (
    PRIVATE_FILE,
    digest_of,
    folder_lock,
    note,
    private_folder,
    seal,
    sync_folder,
    unseal,
    write_whole,
)
from nrr.sources.csv_layout import Layout

__all__ = ["CheckedCache", "Kept", "default_cache"]

# Bumped whenever what an entry holds changes in a way its key does not show.
# 2: rows in file order without their numbers (`CheckedCache.rows`).
# 3: the checking query's own output (with its flag column), notes beside it in JSON.
# 4: notes and layouts sealed, bound to their key and to the digest of the rows.
_FORMAT = 4
# Raised whenever `quick_layout` clears less than before, so that no layout an older nrr
# cleared is reused (2: a line too long for the engine goes to the careful scan).
_LAYOUT = ".layout2.json"
_DEFAULT_LIMIT = 2 * 1024**3
# About 150,000 lines: below this, reading the text is about as quick as finding its entry.
_SMALLEST = 8 * 1024**2
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
        """`file`'s size and modification time, taken before its digest and again before
        its rows are kept: a quick first sign of a file written to while nrr read it (an
        export still running). A file rewritten in place may keep both: `adopt` takes the
        digest again."""
        stat = file.stat()
        return stat.st_size, stat.st_mtime_ns

    def layout(self, digest: str) -> Layout | None:
        """The layout found before in a file with these bytes (`csv_layout.quick_layout`, a
        function of the bytes alone), or None."""
        path = self.directory / f"{digest}{_LAYOUT}"
        if not private_folder(self.directory, create=False):
            return None
        try:
            data = path.read_bytes()
            os.utime(path)
        except OSError:
            return None
        if b'"seal"' not in data:
            return None  # kept by an nrr before layouts were sealed: found again, then kept
        found = unseal(data, format=_FORMAT, bytes=digest)
        fields = found.get("layout") if found is not None else None
        try:
            if isinstance(fields, dict):
                return Layout(**fields | {"columns": tuple(fields["columns"])})
        except (TypeError, KeyError, ValueError):
            pass
        self._drop(path, "a remembered layout")
        return None

    def remember_layout(self, digest: str, layout: Layout) -> None:
        """Keep the layout of the file with these bytes, for `layout`."""
        fields = {"format": _FORMAT, "bytes": digest, "layout": dataclasses.asdict(layout)}
        self._write(f"{digest}{_LAYOUT}", seal(fields))

    def key(self, digest: str, sql: str, *parts: object) -> str:
        """The entry for the query `sql` over the file whose bytes have `digest`, under
        `parts` (anything else that shapes the stored rows): file bytes, query text (which
        names the file and the reader's options) and versions."""
        key = hashlib.sha256(digest.encode())
        versions = (_FORMAT, _nrr_version(), duckdb.__version__)
        key.update(repr((versions, sql, parts)).encode())
        return key.hexdigest()

    def find(self, key: str) -> Kept | None:
        """The entry `key`, checked against its notes and marked as just used, or None when
        there is none. An entry whose rows or notes changed since they were written is
        removed: the caller reads the file again."""
        path = self.directory / f"{key}.parquet"
        written = _notes_of(path)
        if not private_folder(self.directory, create=False):
            return None
        try:
            with folder_lock(self.directory, exclusive=False):
                data = written.read_bytes()
                handle = path.open("rb")
        except OSError:
            return None
        try:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_SH)  # not trimmed while checked, nor after
            if not os.path.samestat(os.fstat(handle.fileno()), path.stat()):
                handle.close()  # trimmed or replaced before the lock was had
                return None
            record = unseal(data, format=_FORMAT, entry=key)
            rows = {"bytes": os.fstat(handle.fileno()).st_size, "sha256": digest_of(handle)}
            notes = record.get("notes") if record is not None else None
            if record is None or record.get("rows") != rows or not isinstance(notes, list):
                handle.close()
                self._drop(path, "an entry")
                return None
            os.utime(path)
            os.utime(written)  # used as recently as its rows, so trimmed with them
        except OSError:
            handle.close()
            return None
        _hold(path, handle)  # only an entry that will be read
        return Kept(path, tuple(str(n) for n in notes))

    @staticmethod
    def rows(path: Path, column: str, first: int) -> str:
        """The rows of the Parquet file `path` (an entry, or one being written), numbered in
        `column` from `first` by their place in the file. Row numbers are not stored (about
        0.2 s of writing at 3M rows): the rows are in file order, and Parquet's reader knows
        each row's place."""
        return (
            f"SELECT file_row_number + {first:d} AS {sqltext.identifier(column)}, "
            "* EXCLUDE (file_row_number) "
            f"FROM read_parquet({sqltext.string(path.as_posix())}, file_row_number = true)"
        )

    def write(self, engine: Engine, sql: str, part: Path) -> bool:
        """Run the query `sql` into the file `part` (from `begin`), rows in order; False,
        with `part` removed, when the cache's disk refused them (full, say): the caller
        computes without keeping them. Any other error is the query's, raised."""
        # Into `part` itself (0600, `discard`ed on failure): DuckDB's own temporary file would
        # be made as the umask says, and was seen left behind when a write failed.
        target = sqltext.string(part.as_posix())
        copy = f"COPY ({sql}) TO {target} (FORMAT parquet, USE_TMP_FILE false)"
        try:
            engine.execute(copy)
        except (duckdb.IOException, OSError) as exc:
            self.discard(part)
            note(f"the cache could not keep a checked copy in {self.directory} ({exc})")
            return False
        return True

    def begin(self) -> Path | None:
        """A new file in the cache's folder for the checking query to write its rows into,
        for `adopt` once they pass; None when the folder cannot be written."""
        if not private_folder(self.directory, create=True):
            return None
        part = self.directory / f".{uuid.uuid4().hex}.parquet.part"
        try:
            part.touch(mode=PRIVATE_FILE, exist_ok=False)
        except OSError as exc:
            note(f"the cache folder {self.directory} cannot be written ({exc.strerror})")
            return None
        return part

    def adopt(
        self,
        part: Path,
        key: str,
        notes: list[str],
        *,
        source: Path,
        digest: str,
        layout: Layout | None = None,
    ) -> Path | None:
        """Make `part` (from `begin`, rows that passed every check) the entry `key`, with
        its `notes`, held by this process; then trim the cache to its size limit. `source`
        must still have the bytes `digest` names, now that every read of it is done: else
        the rows may come from other bytes, and are not kept. `layout`, found in those
        bytes, is remembered with them. None when it cannot be: `part` is then still there,
        for the caller to read and `discard`."""
        try:
            if self.digest(source) != digest:
                note(f"{source.name} changed while nrr read it; its checked copy is not kept")
                return None
        except OSError:
            return None
        path = self.directory / f"{key}.parquet"
        try:
            handle = part.open("rb")
        except OSError:
            return None
        try:
            rows = {"bytes": os.fstat(handle.fileno()).st_size, "sha256": digest_of(handle)}
            os.fsync(handle.fileno())  # the rows reach the disk before their name does
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_SH)  # the lock follows the file through its rename
            if layout is not None:
                self.remember_layout(digest, layout)
            fields = {"format": _FORMAT, "entry": key, "rows": rows, "notes": notes}
            with folder_lock(self.directory, exclusive=True):
                if self._write(_notes_of(path).name, seal(fields)) is None:
                    handle.close()
                    return None
                os.replace(part, path)
        except OSError as exc:
            handle.close()
            note(f"the cache could not keep a checked copy in {self.directory} ({exc})")
            return None
        sync_folder(self.directory)
        _hold(path, handle)
        self._trim(keep=path)
        return path

    @staticmethod
    def discard(part: Path) -> None:
        """Remove a file from `begin` that will not be an entry."""
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)

    def _write(self, name: str, data: bytes) -> Path | None:
        """Write `data` as the file `name`, whole: readers (other commands, maybe reading the
        old one) see the whole file or none. None when it failed."""
        if not private_folder(self.directory, create=True):
            return None
        try:
            write_whole(self.directory / name, data)
        except OSError as exc:
            note(f"the cache could not keep a file in {self.directory} ({exc})")
            return None
        return self.directory / name

    def _drop(self, path: Path, what: str) -> None:
        """Remove a file of the cache that changed since nrr wrote it (and an entry's notes
        with its rows), saying so once."""
        note(f"{what} in the cache ({path.name}) changed since nrr wrote it; removed")
        held = _HELD.pop(path, None)
        if held is not None:
            held.close()
        for found in (path, _notes_of(path)) if path.suffix == ".parquet" else (path,):
            with contextlib.suppress(OSError):
                found.unlink(missing_ok=True)

    def _trim(self, keep: Path) -> None:
        try:
            found = {p: p.stat() for p in self.directory.iterdir()}
        except OSError:
            return
        now = time.time()
        notes = {p for p in found if p.name.endswith(_NOTES)}
        for path, found_stat in found.items():
            orphan = path in notes and _rows_of(path) not in found
            if (path.suffix == ".part" or orphan) and now - found_stat.st_mtime > _STALE_SECONDS:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
            elif stat.S_IMODE(found_stat.st_mode) & 0o077:  # kept by an nrr before 0600 files
                with contextlib.suppress(OSError):
                    path.chmod(PRIVATE_FILE)
        # An entry's rows and notes go together, counted as one, as recently used as its rows.
        units = sorted(
            (
                (st.st_mtime, st.st_size + _size_of(found.get(_notes_of(path))), path)
                for path, st in found.items()
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


def _hold(path: Path, handle: IO[bytes]) -> None:
    """Hold `path` by `handle`, open on it with a shared lock: the file now at `path`, which
    may have replaced one held before."""
    before = _HELD.get(path)
    _HELD[path] = handle
    if before is not None and before is not handle:
        before.close()


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
