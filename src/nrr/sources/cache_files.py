"""The files of nrr's cache (`cache.py`): private to their owner, written whole or not at all,
and sealed, so a file changed after nrr wrote it is found out when read.

- Private: the folder is 0700 and every file 0600, whatever was there before; a folder that
  belongs to another user is not used at all (its files could say anything).
- Whole: a file is written beside its name, flushed to the disk, then renamed; a failed write
  (a full disk) removes what it wrote.
- Sealed: a record (JSON) carries a SHA-256 digest of its own fields, which name what it is
  bound to (the entry's key, the digest of its rows).

What goes wrong with the cache is told once per process on the `nrr.cache` logger, which
prints to stderr when nothing else is set up: the command itself goes on, from the text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows: writers of one entry are not kept apart
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "digest_of",
    "folder_lock",
    "note",
    "private_folder",
    "seal",
    "sync_folder",
    "unseal",
    "write_whole",
]

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
_log = logging.getLogger("nrr.cache")
_told: set[str] = set()


def note(message: str) -> None:
    """Tell the user, once per process, what the cache could not do."""
    if message not in _told:
        _told.add(message)
        _log.warning("note: %s", message)


def private_folder(directory: Path, *, create: bool) -> bool:
    """Whether `directory` can hold the cache: made if `create` and missing, narrowed to its
    owner (0700) if it was wider. A folder of another user's is refused, with a note."""
    try:
        if create:
            with contextlib.suppress(FileExistsError):  # a file there: said below
                directory.mkdir(mode=PRIVATE_FOLDER, parents=True)
        found = directory.stat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        note(f"the cache folder {directory} cannot be used ({exc.strerror}); nothing is kept")
        return False
    if not stat.S_ISDIR(found.st_mode):
        note(f"the cache folder {directory} is not a folder; nothing is kept")
        return False
    owner = os.getuid() if hasattr(os, "getuid") else found.st_uid  # Windows: no uids
    if found.st_uid != owner:
        note(f"the cache folder {directory} belongs to another user; nrr does not use it")
        return False
    if stat.S_IMODE(found.st_mode) & 0o077:
        try:
            directory.chmod(PRIVATE_FOLDER)
        except OSError as exc:
            note(f"the cache folder {directory} cannot be made private ({exc.strerror})")
            return False
    return True


def write_whole(path: Path, data: bytes) -> None:
    """Write `data` as the file `path` (0600), which readers see whole or not at all, even
    after a crash. Raises OSError, leaving nothing behind."""
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        handle = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(part, path)
    except OSError:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


@contextlib.contextmanager
def folder_lock(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """Held on `directory` while files that go together are written (`exclusive`) or read
    (shared): two processes keeping the same entry at once cannot leave the notes of one
    beside the rows of the other, nor a reader see them so."""
    handle = None
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY)
    try:
        if handle is not None and fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        if handle is not None:
            os.close(handle)


def sync_folder(directory: Path) -> None:
    """Flush `directory`'s names to the disk, so a rename outlives a crash."""
    with contextlib.suppress(OSError):  # not every system lets a folder be opened
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def digest_of(handle: IO[bytes]) -> str:
    """The SHA-256 digest of the bytes of the open file `handle`, from its start."""
    handle.seek(0)
    return hashlib.file_digest(handle, "sha256").hexdigest()


def seal(fields: dict[str, object]) -> bytes:
    """`fields` as JSON, with the digest of their own text (`unseal` checks it)."""
    return json.dumps({**fields, "seal": _digest(fields)}, ensure_ascii=False).encode()


def unseal(data: bytes, **expected: object) -> dict[str, object] | None:
    """The fields sealed in `data`, or None when the seal does not match them or any field
    in `expected` (what the record must be bound to) differs."""
    try:
        record = json.loads(data)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    sealed = record.pop("seal", None)
    if sealed != _digest(record) or any(record.get(k) != v for k, v in expected.items()):
        return None
    return record


def _digest(fields: dict[str, object]) -> str:
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
