"""Customer ids that look alike but differ: `Acme` and `acme`, `café` in NFC and in NFD, `acme`
and `acme` followed by a no-break space or a zero-width space.

Ids are data: nrr never merges two ids, so the numbers stay what the inputs say. But an
attribute row whose id matches no subscription only by such a difference silently leaves the
customer in `(none)`, and two subscription ids that differ so are counted as two customers.
Both are usually a slip in an export, so nrr warns, naming both ids (as `repr`, so invisible
characters show) and both rows.

Cheap on a large book: only distinct ids are compared. Ids of plain ASCII (letters, digits,
punctuation, no space) are compared by their lower case in the engine
(`sql/checks/lookalike_ids.sql`); the few others are brought into Python, given the full key
(NFKC, case folded, invisible characters and whitespace removed) and matched against the plain
ids whose lower case equals such a key (`sql/checks/lookalike_rows.sql`).
"""

from __future__ import annotations

import itertools
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from nrr.engines.base import Engine
from nrr.sql.render import Relation, bind, render, statement, values

__all__ = ["MAX_SHOWN", "difference", "lookalike_key", "lookalike_warnings"]

MAX_SHOWN = 10
# Characters that do not show, or show as a space: removed from the key.
_INVISIBLE = {"\u00a0", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad"}


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
    engine: Engine,
    lines: Relation,
    lines_source: str,
    customers: Relation | None,
    customers_source: str | None,
) -> list[str]:
    """Warnings for look-alike ids: customers rows whose id has no subscriptions but a
    look-alike that has, and look-alikes within one input. At most `MAX_SHOWN` lines, then a
    count of the rest.

    `lines` and `customers` name the checked tables in `engine`; each has `_row` and
    `customer_id`."""
    sources = {"subscriptions": lines_source}
    tables: dict[str, Relation] = {"lines": lines, "customers": _NO_CUSTOMERS}
    if customers is not None and customers_source is not None:
        sources["customers"] = customers_source
        tables["customers"] = customers
    candidates = _fetch(engine, "lookalike_ids", tables)
    if not candidates:
        return []
    # The ids that are not plain ASCII are few: their full key is Python's (NFKC, case
    # folded, invisible characters removed); a plain id whose lower case is such a key is a
    # look-alike of one.
    keys = sorted({lookalike_key(r["customer_id"]) for r in candidates if not r["plain"]})
    suspects = sorted({r["customer_id"] for r in candidates})
    tables["suspects"] = values([("customer_id", "VARCHAR")], [(s,) for s in suspects])
    tables["keys"] = values([("lookalike_key", "VARCHAR")], [(k,) for k in keys])
    found = [
        _Id(r["customer_id"], int(r["first_row"]), sources[r["side"]], r["side"])
        for r in _fetch(engine, "lookalike_rows", tables)
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


# The customers input when there is none.
_NO_CUSTOMERS = values([("customer_id", "VARCHAR"), ("_row", "BIGINT")], [])


def _fetch(engine: Engine, name: str, tables: dict[str, Relation]) -> list[dict[str, Any]]:
    query = bind(statement(f"checks/{name}.sql"), tables=tables)
    return engine.fetch(render(query, engine.dialect)).records()


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
