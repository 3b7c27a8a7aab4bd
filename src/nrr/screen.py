"""Screening rows: the checks a source must pass, and what happens to the rows that fail.

Every check is a boolean column computed in the engine in one pass; the typed table is
materialized once. Under `on_invalid="fail"` (the default) any flagged row stops the run
with every problem listed as FILE:ROW:COLUMN. Under `"quarantine"` the flagged rows are set
aside with their reasons (`Intake.rejections`), the rest are used, and each source's
`Account` states rows read = rows used + rows rejected and the MRR that was rejected.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir

from nrr import sqltext
from nrr.errors import InputError, InternalError, Problem
from nrr.fetch import records, value
from nrr.memory import memory_limit_error
from nrr.outputs import atomic_path, spreadsheet_safe
from nrr.sources.cache import CheckedCache
from nrr.sources.files import ROW, RawSource

__all__ = [
    "DEFAULT_MAX_PROBLEMS",
    "ON_INVALID",
    "Account",
    "Check",
    "Intake",
    "Rejection",
    "screen",
    "screen_direct",
]

DEFAULT_MAX_PROBLEMS = 50
ON_INVALID = ("fail", "quarantine")
# Columns a screened expression may carry so that rejected rows can be valued: the line's
# MRR in its own currency when it could be read, and that currency.
MRR_HINT = "_mrr_hint"
CURRENCY_HINT = "_currency_hint"
_BAD = "_bad"  # what `screen_direct` stores of the flags: any of them

Progress = Callable[[str, Callable[[], float]], AbstractContextManager[None]]


@dataclass(frozen=True)
class Check:
    """One rule: the boolean column that flags a breach, the column to blame, the message."""

    flag: str
    column: str
    describe: Callable[[str | None], str]


@dataclass(frozen=True)
class Rejection:
    """One input row set aside, with every reason it failed."""

    source: str
    row: int
    columns: tuple[str, ...]
    reasons: tuple[str, ...]
    record: dict[str, str | None]


@dataclass
class Account:
    """Where every row of one source went."""

    source: str
    rows_read: int
    rows_used: int = 0
    rows_rejected: int = 0
    # Rows used that carry no MRR by a documented rule (trial, one-time line...), by rule.
    no_mrr: Counter[str] = field(default_factory=Counter)
    mrr_rejected: dict[str, Decimal] = field(default_factory=dict)
    rejected_without_mrr: int = 0

    def check(self) -> None:
        if self.rows_read != self.rows_used + self.rows_rejected:
            raise InternalError(
                f"{self.source}: rows do not reconcile: {self.rows_read} read, "
                f"{self.rows_used} used, {self.rows_rejected} rejected"
            )

    def line(self) -> str:
        text = (
            f"{self.source}: {_rows(self.rows_read)} read = {self.rows_used:,} used "
            f"+ {self.rows_rejected:,} rejected"
        )
        if self.no_mrr:
            parts = ", ".join(f"{n:,} {why}" for why, n in sorted(self.no_mrr.items()))
            text += f" (used without MRR: {parts})"
        if self.rows_rejected:
            money = " + ".join(
                f"{amount:,.2f} {currency}"
                for currency, amount in sorted(self.mrr_rejected.items())
            )
            text += f"; MRR rejected: {money or '0.00'}"
            if self.rejected_without_mrr:
                text += f" ({self.rejected_without_mrr:,} rejected rows have no readable MRR)"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_rejected": self.rows_rejected,
            "rows_without_mrr": dict(sorted(self.no_mrr.items())),
            "mrr_rejected": {c: float(round(a, 2)) for c, a in sorted(self.mrr_rejected.items())},
            "rejected_without_mrr": self.rejected_without_mrr,
        }


def _rows(count: int) -> str:
    return "1 row" if count == 1 else f"{count:,} rows"


@dataclass
class Intake:
    """The policy for invalid rows, and the record of what happened to every input row."""

    on_invalid: str = "fail"
    max_problems: int = DEFAULT_MAX_PROBLEMS
    progress: Progress | None = None
    rejections: list[Rejection] = field(default_factory=list)
    accounts: dict[str, Account] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.on_invalid not in ON_INVALID:
            raise InputError(
                Problem(
                    source="--on-invalid",
                    message=f"{self.on_invalid!r} is not one of {', '.join(ON_INVALID)}",
                )
            )

    @property
    def quarantine(self) -> bool:
        return self.on_invalid == "quarantine"

    def account(self, source: str) -> Account:
        if source not in self.accounts:
            raise InternalError(f"no account opened for {source}")
        return self.accounts[source]

    def open_account(
        self, raw: RawSource, con: ibis.BaseBackend, *, rows: int | None = None
    ) -> Account:
        """Open the account of `raw`, with `rows` read (counted when not given)."""
        if rows is None:
            rows = raw.rows if raw.rows is not None else int(value(raw.table.count()))
        account = Account(source=raw.name, rows_read=rows)
        self.accounts[raw.name] = account
        return account

    def write_rejected(self, path: str | Path) -> Path:
        """Write every rejected row (source, row, columns, reasons, record as JSON) as CSV,
        atomically and with formula-like text neutralised (`nrr.outputs`)."""
        import pyarrow as pa  # here: only a command with rejected rows writes them
        import pyarrow.csv as pacsv

        def text(values: list[str]) -> pa.Array:
            return pa.array([spreadsheet_safe(v) for v in values], pa.string())

        path = Path(path)
        rows = sorted(self.rejections, key=lambda r: (r.source, r.row))
        table = pa.table(
            {
                "source": text([r.source for r in rows]),
                "row": pa.array([r.row for r in rows], pa.int64()),
                "columns": text([";".join(r.columns) for r in rows]),
                "reasons": text([" | ".join(r.reasons) for r in rows]),
                "record": text([json.dumps(r.record, ensure_ascii=False) for r in rows]),
            }
        )
        with atomic_path(path) as temp:
            pacsv.write_csv(table, temp)
        return path


def materialize(
    con: ibis.BaseBackend, raw: RawSource, expr: ir.Table, prefix: str, intake: Intake
) -> ir.Table:
    """Compute `expr` once into a temporary table, showing progress on long reads."""
    try:
        with _watch(con, raw, intake):
            return con.create_table(ibis.util.gen_name(prefix), expr, temp=True)
    except duckdb.OutOfMemoryException as exc:
        raise memory_limit_error(exc) from None
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise InputError(Problem(source=raw.name, message=f"cannot be read: {message}")) from None


def _watch(con: ibis.BaseBackend, raw: RawSource, intake: Intake) -> AbstractContextManager[None]:
    raw_con = getattr(con, "con", None)
    if intake.progress is not None and isinstance(raw_con, duckdb.DuckDBPyConnection):
        return _watch_duckdb(raw_con, raw.name, intake.progress)
    return nullcontext()


def screen_direct(
    con: ibis.BaseBackend,
    raw: RawSource,
    parsed: ir.Table,
    checks: tuple[Check, ...],
    intake: Intake,
    *,
    prefix: str,
    unique: str | None = None,
    notes: Callable[[ir.Table], list[str]] | None = None,
) -> ir.Table | None:
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
    flags = [parsed[c.flag] for c in checks]
    hints = (MRR_HINT, CURRENCY_HINT)
    keep = [c for c in parsed.columns if c not in {c.flag for c in checks} and c not in hints]
    stored_columns = [c for c in keep if c != ROW]  # `_row` is null until numbered below
    # A flag that comes out null is a doubt: the careful path decides.
    bad = ibis.or_(*flags).fill_null(True) if flags else ibis.literal(False)
    # Compiled once, for the cache's key and for storing (Ibis takes a while on this one).
    sql = str(con.compile(parsed.select(*stored_columns, **{_BAD: bad})))
    first = raw.unnumbered.first_row
    cache, key = raw.unnumbered.cache, None
    if cache is not None:
        key = cache.key(con, raw.unnumbered.digest, sql, first, unique, raw.name)
        found = cache.find(key)
        if found is not None:
            kept = CheckedCache.rows(con, found.path, ROW, first)
            rows = int(value(kept.count()))
            intake.open_account(raw, con, rows=rows).rows_used += rows
            intake.warnings.extend(found.notes)
            return kept.select(*keep)
    # With a cache, the checked rows go straight to a Parquet file that becomes its entry
    # when they pass: written once, not stored in memory and then copied (0.3-0.4 s at 3M
    # rows). Without one, they are stored in memory and numbered by `rowid`.
    part = cache.begin() if cache is not None and key is not None else None
    name = ibis.util.gen_name(prefix)
    try:
        with _watch(con, raw, intake):
            if part is not None and cache is not None and not cache.write(con, sql, part):
                part = None  # the cache's disk refused the rows: they are stored in memory
            if part is None:
                con.raw_sql(f'CREATE TEMP TABLE "{name}" AS {sql}')
    except duckdb.Error:
        if part is not None and cache is not None:
            cache.discard(part)
        return None  # a problem the careful read names (a ragged row, a stray quote...)
    columns = ", ".join(sqltext.identifier(c) for c in stored_columns)
    if part is None:
        stored = con.table(name, database=("temp", "main"))
        numbered = con.sql(f'SELECT rowid + {first:d} AS "{ROW}", {columns} FROM "{name}"')
    else:
        stored = numbered = CheckedCache.rows(con, part, ROW, first)
    distinct = {} if unique is None else {"distinct": stored[unique].nunique()}
    counts = stored.aggregate(rows=stored.count(), bad=stored[_BAD].sum(), **distinct)
    counts = records(counts)[0]
    if counts["bad"] or counts.get("distinct", counts["rows"]) != counts["rows"]:
        if part is None:
            con.drop_table(name)
        elif cache is not None:
            cache.discard(part)
        return None
    checked = numbered.select(*keep)
    found_notes = notes(checked) if notes is not None else []
    if part is not None and cache is not None and key is not None:
        read, kept_path = raw.unnumbered, None
        if read.file is not None and read.unchanged():
            kept_path = cache.adopt(
                part, key, found_notes, source=read.file, digest=read.digest, layout=read.layout
            )
        if kept_path is not None:
            checked = CheckedCache.rows(con, kept_path, ROW, first).select(*keep)
        else:  # not an entry (the file changed while read, or the folder refused): in memory
            con.raw_sql(f'CREATE TEMP TABLE "{name}" AS {con.compile(checked)}')
            cache.discard(part)
            checked = con.table(name, database=("temp", "main"))
    rows = int(counts["rows"])
    intake.open_account(raw, con, rows=rows).rows_used += rows
    intake.warnings.extend(found_notes)
    return checked


@contextmanager
def _watch_duckdb(
    raw_con: duckdb.DuckDBPyConnection, label: str, progress: Progress
) -> Iterator[None]:
    raw_con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
    lock = threading.Lock()

    def poll() -> float:
        with lock:
            try:
                return float(raw_con.query_progress())
            except duckdb.Error:
                return -1.0

    with progress(f"Reading {label}", poll):
        yield


def screen(
    con: ibis.BaseBackend,
    raw: RawSource,
    parsed: ir.Table,
    checks: tuple[Check, ...],
    intake: Intake,
    *,
    prefix: str,
    origin: dict[str, str] | None = None,
) -> ir.Table:
    """Materialize `parsed` (which has `_row` and one flag column per check); handle flagged
    rows by the intake's policy and return the table of rows that passed, flags dropped."""
    flags = [c.flag for c in checks]
    unchecked = [c for c in parsed.columns if c.startswith("bad_") and c not in flags]
    if unchecked:
        raise InternalError(f"flags without a check: {', '.join(unchecked)}")
    typed = materialize(con, raw, parsed, prefix, intake)
    keep = [c for c in typed.columns if c not in flags]
    if not checks:
        return typed.select(*keep)
    any_bad = ibis.or_(*(typed[f] for f in flags))
    total = int(value(typed.filter(any_bad).count()))
    if total == 0:
        return typed.select(*keep)
    limit = None if intake.quarantine else intake.max_problems
    rejections = _describe(typed, raw, checks, any_bad, limit, origin or {})
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
    reject(intake, raw.name, rejections, typed.filter(any_bad))
    bad_rows = typed.filter(any_bad).select(ROW)
    return typed.filter(~typed[ROW].isin(bad_rows[ROW])).select(*keep)


def reject(intake: Intake, source: str, rejections: list[Rejection], bad: ir.Table) -> None:
    """Record rejected rows and the MRR they carried (when it could be read)."""
    known = {(r.source, r.row) for r in intake.rejections}
    fresh = [r for r in rejections if (r.source, r.row) not in known]
    intake.rejections.extend(fresh)
    account = intake.account(source)
    account.rows_rejected += len({r.row for r in fresh})
    if MRR_HINT not in bad.columns:
        account.rejected_without_mrr += len({r.row for r in fresh})
        return
    fresh_rows = sorted({r.row for r in fresh})
    per_row = records(
        bad.filter(bad[ROW].isin(fresh_rows))
        .group_by(ROW)
        .agg(
            mrr=bad[MRR_HINT].sum(),
            unknown=bad[MRR_HINT].isnull().any(),
            currency=bad[CURRENCY_HINT].first(),
        )
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for record in per_row:
        if record["unknown"] or record["mrr"] is None or not record["currency"]:
            account.rejected_without_mrr += 1
        else:
            totals[record["currency"]] += Decimal(record["mrr"])
    for currency, amount in totals.items():
        account.mrr_rejected[currency] = account.mrr_rejected.get(currency, Decimal(0)) + amount


def _describe(
    typed: ir.Table,
    raw: RawSource,
    checks: tuple[Check, ...],
    any_bad: ir.BooleanValue,
    limit: int | None,
    origin: dict[str, str],
) -> list[Rejection]:
    extra = [c for c in ("first_row",) if c in typed.columns]
    bad_expr = (
        typed.filter(any_bad).order_by(ROW).select(ROW, *(c.flag for c in checks), *extra)
    ).distinct(on=ROW, keep="first")
    bad_expr = bad_expr.order_by(ROW)
    if limit is not None:
        bad_expr = bad_expr.limit(limit)
    bad = records(bad_expr)
    rows = [r[ROW] for r in bad]
    columns = [c for c in raw.columns if c != ROW]
    source_rows: dict[int, dict[str, str | None]] = {}
    for start in range(0, len(rows), 10_000):
        chunk = rows[start : start + 10_000]
        for record in records(raw.table.filter(raw.table[ROW].isin(chunk)).select(ROW, *columns)):
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
