"""Every file nrr writes goes through here (DESIGN.md, "Data safety"; docs/cli.md).

    refuse_overwriting_inputs({"--out": out}, {"--subscriptions": subs})  # before any read
    with atomic_path(out) as temp:        # a writer that takes a path
        page_writer(temp)
    write_text(out, page)                 # text in one call
    spreadsheet_safe(cell)                # a CSV cell a spreadsheet will not execute

An output is never an input: the same file under another spelling (a symlink, `./`, `x/..`,
a hard link) is refused before anything is read, so a typo cannot replace the data it was
meant to read. A file is written beside its target and renamed onto it only once complete
and flushed to disk, so a run that fails or is killed mid-write leaves the previous file as it
was and no temporary file behind. What the system refuses (a full disk, a read-only folder, a
folder or a file where a folder or a file was expected) is an `InputError` naming the path.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from nrr.errors import InputError, Problem

__all__ = [
    "FORMULA_STARTS",
    "atomic_path",
    "refuse_overwriting_inputs",
    "spreadsheet_safe",
    "write_text",
]

PathLike = str | Path

# OWASP, "CSV Injection": a cell starting with one of these is read by a spreadsheet as a
# formula (tab and carriage return because some spreadsheets strip them, then read what follows).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Text that is only a number ("-12.5", "+3", "1e-3") is read as that number, never run:
# left as it is, so a signed figure stays a figure in the spreadsheet.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: object) -> object:
    """`value` for a CSV cell: text a spreadsheet would execute as a formula gets a leading
    `'`, which spreadsheets show as text; numbers and every other value are returned as they
    are."""
    text = isinstance(value, str) and value.startswith(FORMULA_STARTS)
    if text and not _PLAIN_NUMBER.fullmatch(str(value)):
        return f"'{value}"
    return value


def refuse_overwriting_inputs(
    outputs: Mapping[str, PathLike | None] | Iterable[tuple[str, PathLike | None]],
    inputs: Mapping[str, object],
) -> None:
    """Raise an `InputError` when an output (by the option that names it, e.g. `--out`) is
    the same file as an input or as another output, or cannot be a file at all (an existing
    folder, or a path under a file). Call it before reading anything. Inputs that are not
    files (None, a table name, a query, a DataFrame) are passed over."""
    pairs = outputs.items() if isinstance(outputs, Mapping) else outputs
    # Only a file that exists can be overwritten: a table name or a query is no file.
    sources = [
        (label, given)
        for label, given in inputs.items()
        if isinstance(given, str | Path) and Path(given).exists()
    ]
    problems: list[Problem] = []
    seen: list[tuple[str, str | Path]] = []
    for label, given in pairs:
        if given is None:
            continue
        place = _place_problem(Path(given), label)
        clash = next(
            (
                (other, source, what)
                for what, pool in (("input", sources), ("output", seen))
                for other, source in pool
                if _same_file(Path(given), Path(source))
            ),
            None,
        )
        if place is not None:
            problems.append(place)
        elif clash is not None:
            other, source, what = clash
            problems.append(
                Problem(
                    source=label,
                    message=f"{given} is the same file as the {what} {other} ({source}); "
                    "nrr never writes over its inputs or one output over another: "
                    "give another path",
                )
            )
        seen.append((label, given))
    if problems:
        # One line per mistake: charts in a folder that is a file all say the same.
        raise InputError(list(dict.fromkeys(problems)))


def _same_file(a: Path, b: Path) -> bool:
    # samefile sees through symlinks, hard links and case-insensitive file systems; a path
    # that does not exist yet (`new/../data.csv`: nrr makes the missing folder) is compared
    # as the system will resolve it.
    try:
        if os.path.samefile(a, b):
            return True
    except (OSError, ValueError):
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _place_problem(target: Path, label: str | None = None) -> Problem | None:
    """Why `target` cannot be written as a file, seen before writing: it is a folder, or a
    folder on its way is a file."""
    if target.is_dir():
        named = f"{target} " if label else ""
        return Problem(source=label or str(target), message=f"{named}is a folder; give a file path")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        return Problem(
            source=label or str(target),
            message=f"cannot be written: {parent} is a file, not a folder",
        )
    return None


@contextmanager
def atomic_path(target: PathLike, *, create: bool = True) -> Iterator[Path]:
    """A temporary path beside `target` for the body to write; when the body returns, the
    file is flushed to disk and renamed onto `target` (missing folders are made). When the
    body raises, the temporary file is removed and `target` is left as it was.

    The temporary file is created empty (with the usual permissions) unless `create` is
    False, for writers that refuse an existing file (DuckDB); it keeps `target`'s suffix for
    writers that go by it. A symlink is written through, to the file it points at. A target
    that is not a regular file (`/dev/null`, a named pipe) cannot be replaced and is written
    in place. An `OSError` (a full disk, a read-only folder) is an `InputError` naming
    `target`."""
    final = Path(target)
    if final.is_symlink():
        final = Path(os.path.realpath(final))
    problem = _place_problem(final)
    if problem is not None:
        raise InputError(problem)
    try:
        special = final.exists() and not stat.S_ISREG(final.stat().st_mode)
        if not special:
            final.parent.mkdir(parents=True, exist_ok=True)
            temp = _reserve(final, create=create)
    except OSError as exc:
        raise _cannot_write(final, exc) from None
    if special:
        try:
            yield final
        except OSError as exc:
            raise _cannot_write(final, exc) from None
        return
    try:
        yield temp
        _flush(temp)
        os.replace(temp, final)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _cannot_write(final, exc) from None
        raise
    _flush_folder(final.parent)


def write_text(target: PathLike, text: str) -> Path:
    """Write `text` as UTF-8 to `target` atomically (`atomic_path`); return the path."""
    with atomic_path(target) as temp, temp.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return Path(target)


def _reserve(final: Path, *, create: bool) -> Path:
    while True:
        # Hidden and marked, so a leftover of a killed run is recognisable as nrr's.
        temp = final.with_name(f".{final.name}.{secrets.token_hex(6)}.nrr-tmp{final.suffix}")
        if not create:
            if not temp.exists():
                return temp
            continue
        try:
            # 0o666 less the umask: the file gets the permissions a plain open() would give.
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temp
        except FileExistsError:
            continue


def _flush(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _flush_folder(folder: Path) -> None:
    # The rename itself reaches the disk only when the folder does; not every system lets a
    # folder be opened for that, and the file is complete either way.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _cannot_write(target: Path, exc: OSError) -> InputError:
    # The system's own words for its error number ("No space left on device"), not the
    # wording of whichever library was writing.
    lines = str(exc).strip().splitlines()
    reason = os.strerror(exc.errno) if exc.errno else (lines[0] if lines else type(exc).__name__)
    return InputError(Problem(source=str(target), message=f"cannot be written: {reason}"))
