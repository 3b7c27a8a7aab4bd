"""Customer ids that look alike but differ: `Acme` and `acme`, `café` in NFC and in NFD, `acme`
and `acme` followed by a no-break space or a zero-width space.

Ids are data: nrr never merges two ids, so the numbers stay what the inputs say. But an
attribute row whose id matches no subscription only by such a difference silently leaves the
customer in `(none)`, and two subscription ids that differ so are counted as two customers.
Both are usually a slip in an export, so nrr warns, naming both ids (as `repr`, so invisible
characters show) and both rows.

Cheap on a large book: only distinct ids are compared. Ids of plain ASCII (letters, digits,
punctuation, no space) are compared by their lower case in the engine; the few others are
brought into Python, given the full key (NFKC, case folded, invisible characters and
whitespace removed) and matched against the plain ids whose lower case equals such a key.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

import ibis.expr.types as ir

from nrr.fetch import records
from nrr.sources.files import ROW

__all__ = ["MAX_SHOWN", "difference", "lookalike_key", "lookalike_warnings"]

MAX_SHOWN = 10
# Characters that do not show, or show as a space: removed from the key.
_INVISIBLE = {"\u00a0", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad"}
_PLAIN = r"^[!-~]+$"  # printable ASCII without the space: its key is its lower case


def lookalike_key(text: str) -> str:
    """What two look-alike ids have in common: without whitespace or invisible characters,
    compatibility-normalised (NFKC) and case folded."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", _visible(text)).casefold())


def difference(a: str, b: str) -> str:
    """How two look-alike ids differ, in words (`case`): each step of `lookalike_key` that one id
    needed and the other did not (or that made them equal)."""
    kinds = []
    x, y = a, b
    for kind, step in _STEPS:
        if x == y:
            break
        nx, ny = step(x), step(y)
        if nx == ny or (nx != x) != (ny != y):
            kinds.append(kind)
        x, y = nx, ny
    return " and ".join(kinds or ["Unicode form"])


def _visible(text: str) -> str:
    return "".join(
        c
        for c in text
        if c not in _INVISIBLE and not c.isspace() and unicodedata.category(c) != "Cf"
    )


_STEPS = (
    ("invisible characters or spaces", _visible),
    ("Unicode normalization (NFC vs NFD)", lambda s: unicodedata.normalize("NFC", s)),
    ("Unicode compatibility forms (NFKC)", lambda s: unicodedata.normalize("NFKC", s)),
    ("case", lambda s: unicodedata.normalize("NFKC", s.casefold())),
)


@dataclass(frozen=True)
class _Id:
    text: str
    row: int
    source: str
    side: str  # "subscriptions" or "customers"


def lookalike_warnings(
    lines: ir.Table,
    lines_source: str,
    customers: ir.Table | None,
    customers_source: str | None,
) -> list[str]:
    """Warnings for look-alike ids: customers rows whose id has no subscriptions but a
    look-alike that has, and look-alikes within one input. At most `MAX_SHOWN` lines, then a
    count of the rest."""
    tables = [(lines, lines_source, "subscriptions")]
    if customers is not None and customers_source is not None:
        tables.append((customers, customers_source, "customers"))
    suspects = _suspects([table for table, _, _ in tables])
    if not suspects:
        return []
    found = [
        _Id(r["customer_id"], r["row"], source, side)
        for table, source, side in tables
        for r in records(
            table.filter(table.customer_id.isin(suspects))
            .group_by("customer_id")
            .agg(row=table[ROW].min())
        )
    ]
    groups: dict[str, list[_Id]] = defaultdict(list)
    for item in found:
        groups[lookalike_key(item.text)].append(item)
    placed = sorted(m for members in groups.values() for m in _messages(members))
    messages = [text for _, text in placed]
    if len(messages) > MAX_SHOWN:
        rest = len(messages) - MAX_SHOWN
        more = (
            f"{rest:,} more look-alike customer ids not shown (ids are never merged; fix them "
            "in the inputs if they name one customer)"
        )
        messages = [*messages[:MAX_SHOWN], more]
    return messages


def _suspects(tables: list[ir.Table]) -> list[str]:
    """The distinct ids that have a look-alike, or might (checked in Python): plain ids that
    share their lower case with another id, the other ids (few), and the plain ids whose
    lower case is the key of one of those. Only ids, never rows, are compared here."""
    ids = tables[0].select("customer_id")
    for table in tables[1:]:
        ids = ids.union(table.select("customer_id"))
    ids = ids.distinct()  # each id once, whichever input has it
    text = ids.customer_id
    plain = text.re_search(_PLAIN)
    low = text.lower()
    marked = ids.mutate(plain=plain, low=low, shared=low.count().over(group_by=low) > 1)
    rows = records(marked.filter(marked.shared | ~marked.plain).select("customer_id", "plain"))
    suspects = {r["customer_id"] for r in rows}
    keys = sorted({lookalike_key(r["customer_id"]) for r in rows if not r["plain"]})
    if keys:
        partners = marked.filter(marked.plain & marked.low.isin(keys)).select("customer_id")
        suspects |= {r["customer_id"] for r in records(partners)}
    return sorted(suspects)


def _messages(members: list[_Id]) -> list[tuple[tuple[str, int], str]]:
    """The warnings of one group of ids with the same key, each with its place (to sort)."""
    subs = sorted((m for m in members if m.side == "subscriptions"), key=lambda m: m.row)
    custs = sorted((m for m in members if m.side == "customers"), key=lambda m: m.row)
    messages = []
    billed = {m.text for m in subs}
    for customer in custs:
        if customer.text in billed or not subs:
            continue
        other = subs[0]
        mine, theirs = _shown(customer.text, other.text)
        messages.append(
            (
                (customer.source, customer.row),
                f"{customer.source}:{customer.row}:customer_id: {mine} has no subscriptions, "
                f"but {other.source}:{other.row} has {theirs} (differs only by "
                f"{difference(customer.text, other.text)}); its attributes are not applied",
            )
        )
    for side in (subs, custs):
        for first, later in itertools.pairwise(side):
            mine, theirs = _shown(later.text, first.text)
            messages.append(
                (
                    (later.source, later.row),
                    f"{later.source}:{later.row}:customer_id: {mine} and row {first.row}'s "
                    f"{theirs} differ only by {difference(later.text, first.text)}; they are "
                    "counted as two customers (ids are never merged)",
                )
            )
    return messages


def _shown(a: str, b: str) -> tuple[str, str]:
    """Both ids as `repr` shows them (an invisible character as its escape), or with every
    character beyond ASCII escaped when `repr` shows them alike (NFC against NFD)."""
    if unicodedata.normalize("NFC", repr(a)) != unicodedata.normalize("NFC", repr(b)):
        return repr(a), repr(b)
    return ascii(a), ascii(b)
