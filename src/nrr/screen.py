"""Screening rows: the checks a source must pass, and what happens to the rows that fail.

Every check is a boolean column computed in the embedded DuckDB in one pass over a source;
the typed rows are stored once. Sources, checks and results are SQL (`nrr.parsing`).
Under `on_invalid="fail"` (the default) any flagged row stops the run with every problem
listed as FILE:ROW:COLUMN. Under `"quarantine"` the flagged rows are set
aside with their reasons (`Intake.rejections`), the rest are used, and each source's
`Account` states rows read = rows used + rows rejected and the MRR that was rejected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from nrr import sqltext
from nrr.engines.base import Engine
from nrr.errors import InputError, InternalError, Problem
from nrr.intake import Intake, Rejection
from nrr.memory import memory_limit_error
from nrr.sources.cache import CheckedCache
from nrr.sources.files import ROW, RawSource

__all__ = ["CURRENCY_HINT", "MRR_HINT", "Check", "count", "reject", "screen", "screen_direct"]

# Columns a screened expression may carry so that rejected rows can be valued: the line's
# MRR in its own currency when it could be read, and that currency.
MRR_HINT = "_mrr_hint"
CURRENCY_HINT = "_currency_hint"
_BAD = "_bad"  # what `screen_direct` stores of the flags: any of them


@dataclass(frozen=True)
class Check:
    """One rule: the boolean column that flags a breach, the column to blame, the message."""

    flag: str
    column: str
    describe: Callable[[str | None], str]


def count(engine: Engine, relation: str) -> int:
    """The number of rows of the query `relation`."""
    return int(engine.scalar(f"SELECT COUNT(*) FROM ({relation}) AS counted"))


def _quoted(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(sqltext.identifier(n) for n in names)


def _any(flags: list[str]) -> str:
    return " OR ".join(sqltext.identifier(f) for f in flags) if flags else "FALSE"


def materialize(engine: Engine, raw: RawSource, sql: str, prefix: str, intake: Intake) -> str:
    """Compute the query `sql` once into a temporary table, showing progress on long reads;
    the table's quoted name."""
    name = engine.fresh_name(prefix)
    try:
        with _watch(engine, raw, intake):
            engine.keep(name, sql)
    except duckdb.OutOfMemoryException as exc:
        raise memory_limit_error(exc) from None
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise InputError(Problem(source=raw.name, message=f"cannot be read: {message}")) from None
    return engine.quote(name)


def _watch(engine: Engine, raw: RawSource, intake: Intake) -> AbstractContextManager[None]:
    """The intake's progress bar while `raw` is read, where the engine counts its progress."""
    poll = getattr(engine, "progress", None)
    if intake.progress is None or poll is None:
        return nullcontext()
    return intake.progress(f"Reading {raw.name}", poll())


def screen_direct(
    engine: Engine,
    raw: RawSource,
    parsed: str,
    checks: tuple[Check, ...],
    intake: Intake,
    *,
    prefix: str,
    unique: str | None = None,
    notes: Callable[[str], list[str]] | None = None,
) -> str | None:
    """`screen` for a source read straight from its file (`RawSource.unnumbered`): the rows
    that pass, with the source's account opened (every row read is used), or None when any
    row fails a check or the file cannot be read straight through. The caller then opens the
    file the careful way and screens that, which names every problem; a clean file is stored
    once, without its text.

    Only the kept columns and one flag are stored. The rows come out in file order, so a
    row's number is its `rowid` plus the file's first row. With `unique`, a column whose
    values must all differ, a repeated value is a problem too. `notes` finds the warnings
    about the rows that passed (added to the intake's).

    With the source's cache (`sources.cache`), a clean file's rows and notes are kept, and
    a file already kept is neither read nor checked again."""
    if raw.unnumbered is None:
        raise InternalError(f"{raw.name} was not read straight from its file")
    flags = [c.flag for c in checks]
    hints = (MRR_HINT, CURRENCY_HINT)
    keep = [c for c in engine.columns(parsed) if c not in flags and c not in hints]
    stored_columns = [c for c in keep if c != ROW]  # `_row` is null until numbered below
    # A flag that comes out null is a doubt: the careful path decides.
    bad = f"COALESCE({_any(flags)}, TRUE)" if flags else "FALSE"
    sql = f'SELECT {_quoted(stored_columns)}, {bad} AS "{_BAD}" FROM ({parsed}) AS parsed'
    first = raw.unnumbered.first_row
    cache, key = raw.unnumbered.cache, None
    if cache is not None:
        key = cache.key(raw.unnumbered.digest, sql, first, unique, raw.name)
        found = cache.find(key)
        if found is not None:
            kept = CheckedCache.rows(found.path, ROW, first)
            rows = count(engine, kept)
            intake.open_account(raw, engine, rows=rows).rows_used += rows
            intake.warnings.extend(found.notes)
            return f"SELECT {_quoted(keep)} FROM ({kept}) AS kept"
    # With a cache, the checked rows go straight to a Parquet file that becomes its entry
    # when they pass: written once, not stored in memory and then copied (0.3-0.4 s at 3M
    # rows). Without one, they are stored in memory and numbered by `rowid`.
    part = cache.begin() if cache is not None and key is not None else None
    name = engine.fresh_name(prefix)
    try:
        with _watch(engine, raw, intake):
            if part is not None and cache is not None and not cache.write(engine, sql, part):
                part = None  # the cache's disk refused the rows: they are stored in memory
            if part is None:
                engine.keep(name, sql)
    except duckdb.Error:
        if part is not None and cache is not None:
            cache.discard(part)
        return None  # a problem the careful read names (a ragged row, a stray quote...)
    if part is None:
        stored = engine.quote(name)
        numbered = f'SELECT rowid + {first:d} AS "{ROW}", {_quoted(stored_columns)} FROM {stored}'
    else:
        stored = f"({CheckedCache.rows(part, ROW, first)}) AS stored"
        numbered = CheckedCache.rows(part, ROW, first)
    distinct = f", COUNT(DISTINCT {sqltext.identifier(unique)})" if unique is not None else ""
    counted = engine.fetch(
        f'SELECT COUNT(*), COALESCE(SUM(CAST("{_BAD}" AS INTEGER)), 0){distinct} FROM {stored}'
    ).rows[0]
    rows, bad_rows = int(counted[0]), int(counted[1])
    if bad_rows or (unique is not None and int(counted[2]) != rows):
        if part is None:
            engine.drop(name)
        elif cache is not None:
            cache.discard(part)
        return None
    checked = f"SELECT {_quoted(keep)} FROM ({numbered}) AS numbered"
    found_notes = notes(checked) if notes is not None else []
    if part is not None and cache is not None and key is not None:
        read, kept_path = raw.unnumbered, None
        if read.file is not None and read.unchanged():
            kept_path = cache.adopt(
                part, key, found_notes, source=read.file, digest=read.digest, layout=read.layout
            )
        if kept_path is not None:
            checked = (
                f"SELECT {_quoted(keep)} FROM ({CheckedCache.rows(kept_path, ROW, first)}) AS kept"
            )
        else:  # not an entry (the file changed while read, or the folder refused): in memory
            engine.keep(name, checked)
            cache.discard(part)
            checked = f"SELECT * FROM {engine.quote(name)}"
    intake.open_account(raw, engine, rows=rows).rows_used += rows
    intake.warnings.extend(found_notes)
    return checked


def screen(
    engine: Engine,
    raw: RawSource,
    parsed: str,
    checks: tuple[Check, ...],
    intake: Intake,
    *,
    prefix: str,
    origin: dict[str, str] | None = None,
) -> str:
    """Store the query `parsed` (which has `_row` and one flag column per check); handle
    flagged rows by the intake's policy and return a query of the rows that passed, flags
    dropped."""
    flags = [c.flag for c in checks]
    columns = engine.columns(parsed)
    unchecked = [c for c in columns if c.startswith("bad_") and c not in flags]
    if unchecked:
        raise InternalError(f"flags without a check: {', '.join(unchecked)}")
    typed = materialize(engine, raw, parsed, prefix, intake)
    keep = _quoted([c for c in columns if c not in flags])
    if not checks:
        return f"SELECT {keep} FROM {typed}"
    any_bad = _any(flags)
    total = count(engine, f"SELECT 1 FROM {typed} WHERE {any_bad}")
    if total == 0:
        return f"SELECT {keep} FROM {typed}"
    limit = None if intake.quarantine else intake.max_problems
    extra = ["first_row"] if "first_row" in columns else []
    rejections = _describe(engine, typed, raw, checks, any_bad, limit, origin or {}, extra)
    if not intake.quarantine:
        problems = [
            Problem(source=raw.name, row=r.row, column=column, message=reason)
            for r in rejections
            for column, reason in zip(r.columns, r.reasons, strict=True)
        ]
        note = None
        if total > len(rejections):
            note = (
                f"{raw.name}: {total} rows have problems; the first {len(rejections)} are listed "
                "above (or use --on-invalid quarantine to set them aside)"
            )
        raise InputError(problems, note=note)
    reject(intake, raw.name, rejections, engine, f"SELECT * FROM {typed} WHERE {any_bad}")
    return (
        f"SELECT {keep} FROM {typed} "
        f'WHERE "{ROW}" NOT IN (SELECT "{ROW}" FROM {typed} WHERE {any_bad})'
    )


def reject(
    intake: Intake, source: str, rejections: list[Rejection], engine: Engine, bad: str
) -> None:
    """Record rejected rows and the MRR they carried (when it could be read); `bad` is a
    query of the rejected rows, with `_row` and, when the MRR could be read, the hints."""
    known = {(r.source, r.row) for r in intake.rejections}
    fresh = [r for r in rejections if (r.source, r.row) not in known]
    intake.rejections.extend(fresh)
    account = intake.account(source)
    account.rows_rejected += len({r.row for r in fresh})
    if MRR_HINT not in engine.columns(bad):
        account.rejected_without_mrr += len({r.row for r in fresh})
        return
    fresh_rows = sorted({r.row for r in fresh})
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for chunk in _chunks(fresh_rows):
        per_row = engine.fetch(
            f'SELECT SUM("{MRR_HINT}") AS mrr, BOOL_OR("{MRR_HINT}" IS NULL) AS unknown, '
            f'MIN("{CURRENCY_HINT}") AS currency FROM ({bad}) AS bad '
            f'WHERE "{ROW}" IN ({chunk}) GROUP BY "{ROW}"'
        ).records()
        for record in per_row:
            if record["unknown"] or record["mrr"] is None or not record["currency"]:
                account.rejected_without_mrr += 1
            else:
                totals[record["currency"]] += Decimal(record["mrr"])
    for currency, amount in totals.items():
        account.mrr_rejected[currency] = account.mrr_rejected.get(currency, Decimal(0)) + amount


def _chunks(rows: list[int], size: int = 10_000) -> Iterator[str]:
    """Row numbers, `size` at a time, as the list an IN (...) takes (integers only)."""
    for start in range(0, len(rows), size):
        yield ", ".join(str(int(r)) for r in rows[start : start + size])


def _describe(
    engine: Engine,
    typed: str,
    raw: RawSource,
    checks: tuple[Check, ...],
    any_bad: str,
    limit: int | None,
    origin: dict[str, str],
    extra: list[str],
) -> list[Rejection]:
    # A row an adapter made several lines of is described once, by every check any of its
    # lines failed.
    flags = ", ".join(f'BOOL_OR(COALESCE("{c.flag}", FALSE)) AS "{c.flag}"' for c in checks)
    firsts = "".join(f', MIN("{c}") AS "{c}"' for c in extra)
    bound = f" LIMIT {int(limit):d}" if limit is not None else ""
    bad = engine.fetch(
        f'SELECT "{ROW}", {flags}{firsts} FROM {typed} WHERE {any_bad} '
        f'GROUP BY "{ROW}" ORDER BY "{ROW}" ASC NULLS LAST{bound}'
    ).records()
    rows = [r[ROW] for r in bad]
    columns = [c for c in raw.columns if c != ROW]
    source_rows: dict[int, dict[str, str | None]] = {}
    for chunk in _chunks(rows):
        found = engine.fetch(
            f'SELECT "{ROW}", {_quoted(columns)} FROM ({raw.relation}) AS raw '
            f'WHERE "{ROW}" IN ({chunk})'
        ).records()
        for record in found:
            source_rows.setdefault(record.pop(ROW), record)
    result: list[Rejection] = []
    for record in bad:
        values = source_rows.get(record[ROW], {})
        blamed: list[str] = []
        reasons: list[str] = []
        for check in checks:
            if not record[check.flag]:
                continue
            message = check.describe(_clip(values.get(check.column)))
            if "{first}" in message:
                message = message.replace("{first}", str(record.get("first_row")))
            blamed.append(origin.get(check.column, check.column))
            reasons.append(message)
        result.append(
            Rejection(
                source=raw.name,
                row=record[ROW],
                columns=tuple(blamed),
                reasons=tuple(reasons),
                record=_original(values, origin),
            )
        )
    return result


_CLIP = 80


def _clip(value: str | None) -> str | None:
    """A value short enough to quote in a message: a row may hold a megabyte in one cell,
    and each message quoting it whole would print it again."""
    if value is None or len(value) <= _CLIP:
        return value
    return f"{value[: _CLIP - 20]}... ({len(value):,} characters)"


def _original(values: dict[str, str | None], origin: dict[str, str]) -> dict[str, str | None]:
    return {origin.get(k, k): v for k, v in values.items()}
