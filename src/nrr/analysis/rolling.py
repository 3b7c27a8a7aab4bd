"""The figures of every point of a rolling-retention series (`trends.trends`), from the engine.

A series point is the window of METRICS.md section 4 that ends in month `e` and is `k` months
long (start `s = e - k`), exactly as `Book.window(e, window=k)` computes it. Looping over
`window_metrics` would run one query per point, and pairing every customer's MRR at s and
at e for every pair costs customers x pairs; instead the pairs share three queries whose cost
grows with the number of lines:

1. a *pairs* table (e, k, s, currency, rate_s, rate_e): one row per pair and currency, with
   the rate that values MRR(s) at s and the rate that values the window's end side (e's
   rates in spot mode, s's in constant mode);
2. the customers whose MRR changes in some month of (s, e]: each change month of a customer
   (`ledger.customer_steps`) falls in the windows ending in that month and the k - 1 after
   it, and the first and last of its changes in (s, e] give its MRR at s and at e. These
   customers get their own figures, as `retention.customer_window` computes them;
3. everyone else has the same MRR at s and at e: kept, with no expansion, contraction or
   churn, their MRR at s valued at the end side. Their sums are everyone's (running sums of
   the deltas and of the months customers start or stop, per start month and slice, as the
   bridge's opening balances are) less the changed customers'.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from decimal import localcontext

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from nrr.attributes import ALL, PAIR, attribute_names, segment_of, tenure_band
from nrr.book import Book
from nrr.fx import convert
from nrr.ledger import LOCAL_SUM, as_count, cached, customer_totals, first_active
from nrr.results import EXACT, as_decimal
from nrr.retention import window_sums
from nrr.validate import MONEY

__all__ = ["figures"]


def figures(
    book: Book, ends: list[int], lengths: Sequence[int], by: str | None, fx_mode: str
) -> dict[tuple[int, int, str], dict]:
    """(e, k, slice) -> the sums and counts of `retention._aggregate` for the window of k
    months ending e, for every e of `ends` and k of `lengths`; the slice is `attributes.ALL`
    without `by`. A slice with no customer at either end of a window has no entry."""
    pairs = _pairs(book, ends, lengths, fx_mode)
    names = attribute_names(by)
    first = first_active(book.lines)
    # The deltas feed the steps and the start balances, the steps the changed customers and
    # the active counts: the book's ledger keeps them.
    changes, steps = book.ledger.changes, book.ledger.steps
    with cached(_attributes(book, names, first)) if names else nullcontext() as attributes:
        changed = _changed(steps, pairs, lengths, ends)
        if attributes is not None:
            changed = changed.join(attributes, "customer_id")
        changed = changed.mutate(segment=_label(changed, names, changed.s))
        money, counts = _starts(changes, customer_totals(steps), attributes, names, pairs)
        tables = (money, counts, _aggregate(changed))
        return _combined(*(t.to_pyarrow().to_pylist() for t in tables))


def _pairs(book: Book, ends: list[int], windows: Sequence[int], fx_mode: str) -> ir.Table:
    """(e, k, s, currency, rate_s, rate_e) for every pair and every currency with a rate."""
    months = sorted({e for e in ends} | {e - k for e in ends for k in windows})
    # `RateBook.rows` applies the carry-forward and first-rate rules, as `Book.window` does.
    rate = {(c, m): r for c, m, r in book.rates.rows(book.currencies, months)}
    currencies = sorted({c for c, _ in rate})
    records = []
    for e in ends:
        for k in windows:
            s = e - k
            for c in currencies:
                end_side = rate[(c, e)] if fx_mode == "spot" else rate[(c, s)]
                records.append((e, k, s, c, rate[(c, s)], end_side))
    columns = list(zip(*records, strict=True)) if records else [[]] * 6
    return ibis.memtable(
        pa.table(
            {
                "e": pa.array(columns[0], pa.int64()),
                "k": pa.array(columns[1], pa.int64()),
                "s": pa.array(columns[2], pa.int64()),
                "currency": pa.array(columns[3], pa.string()),
                "rate_s": pa.array(columns[4], pa.decimal128(17, 9)),
                "rate_e": pa.array(columns[5], pa.decimal128(17, 9)),
            }
        )
    )


def _offsets(lengths: Sequence[int]) -> ir.Table:
    """(k, j) for j < k: a change in month m lies inside the k-month window ending m + j."""
    rows = [(k, j) for k in lengths for j in range(k)]
    return ibis.memtable(
        pa.table(
            {
                "k": pa.array([k for k, _ in rows], pa.int64()),
                "j": pa.array([j for _, j in rows], pa.int64()),
            }
        )
    )


def _changed(steps: ir.Table, pairs: ir.Table, lengths: Sequence[int], ends: list[int]) -> ir.Table:
    """(e, k, s, customer_id, s_s, e_s, e_e, s_x) for every pair and every customer whose MRR
    changes in some month of (s, e]: `retention.customer_window` for those customers only,
    and `s_x`, MRR(s) valued at the end side, which `_combined` takes off everyone's.

    The first of a customer's steps in (s, e] starts from its MRR at s (`before`), the last
    ends at its MRR at e (`after`); `customer_steps` gives a customer in several currencies
    a step in each of them at each of its change months, so every currency is seen."""
    order = ibis.window(group_by=[steps.customer_id, steps.currency], order_by=steps.month)
    steps = steps.mutate(
        prev_m=steps.month.lag().over(order), next_m=steps.month.lead().over(order)
    )
    t = steps.cross_join(_offsets(lengths))
    t = t.mutate(e=t.month + t.j)
    t = t.filter((t.e >= ends[0]) & (t.e <= ends[-1]))
    t = t.mutate(s=t.e - t.k)
    opens = t.prev_m.isnull() | (t.prev_m <= t.s)
    closes = t.next_m.isnull() | (t.next_m > t.e)
    t = t.filter(opens | closes)
    zero = ibis.literal(0).cast(LOCAL_SUM)
    t = t.select(
        "e",
        "k",
        "s",
        "customer_id",
        "currency",
        local_s=ibis.ifelse(opens, t.before, zero).cast(LOCAL_SUM),
        local_e=ibis.ifelse(closes, t.after, zero).cast(LOCAL_SUM),
    )
    rates = pairs.select("e", "k", "currency", "rate_s", "rate_e")
    v = t.join(rates, ["e", "k", "currency"])
    return v.group_by("e", "k", "s", "customer_id").agg(
        s_s=convert(v.local_s, v.rate_s).sum().cast(MONEY),
        e_s=convert(v.local_e, v.rate_s).sum().cast(MONEY),
        e_e=convert(v.local_e, v.rate_e).sum().cast(MONEY),
        s_x=convert(v.local_s, v.rate_e).sum().cast(MONEY),
    )


def _attributes(book: Book, names: list[str], first: ir.Table) -> ir.Table:
    """(customer_id, first_m, value_i, ...): each customer's value of every attribute of
    `names` but tenure, whose band depends on the window and is taken from `first_m`."""
    t = first
    for index, name in enumerate(names):
        if name == "tenure":
            continue
        one = segment_of(first, by=name, customers=book.customers, first=first)
        one = one.rename({f"value_{index}": "segment"})
        t = t.view()
        t = t.left_join(one, "customer_id").select(
            *[t[c] for c in t.columns], one[f"value_{index}"]
        )
    return t


def _keys(names: list[str]) -> list[str]:
    """The columns of `_attributes` a slice is made of."""
    keys = [f"value_{i}" for i, name in enumerate(names) if name != "tenure"]
    return [*keys, "first_m"] if "tenure" in names else keys


def _label(t: ir.Table, names: list[str], s: ir.IntegerValue) -> ir.StringValue:
    """The slice's name, as `attributes.segment_of` names it for a window starting at `s`."""
    if not names:
        return ibis.literal(ALL)
    # tenure_band(first_m, start) bands `start - first_m`; with start 0 and first_m shifted by
    # each row's own s, it bands s - first_m for every window in one expression.
    values = [
        tenure_band(t.first_m - s, 0) if name == "tenure" else t[f"value_{index}"]
        for index, name in enumerate(names)
    ]
    segment = values[0]
    for value in values[1:]:
        segment = segment.concat(PAIR, value)
    return segment


def _aggregate(t: ir.Table) -> ir.Table:
    """`retention.window_sums` grouped by pair and slice, how many customers have MRR at the
    window's end, and the cohort's MRR(s) valued at the end side."""
    zero = ibis.literal(0).cast(MONEY)
    return t.group_by("e", "k", "segment").agg(
        **window_sums(t),
        customers_end=as_count(t.e_e > 0).sum(),
        start_moved=ibis.ifelse(t.s_s > 0, t.s_x, zero).sum().cast(MONEY),
    )


def _starts(
    changes: ir.Table,
    per: ir.Table,
    attributes: ir.Table | None,
    names: list[str],
    pairs: ir.Table,
) -> tuple[ir.Table, ir.Table]:
    """Per pair and slice, everyone's MRR at s valued at s and at the end side (start, moved),
    and per start month and slice the customers with MRR: running sums of the deltas and of
    the months customers start or stop, as the bridge's opening balances are."""
    keys = _keys(names)
    starts = pairs.select("s").distinct().rename(m="s")

    def sliced(table: ir.Table) -> ir.Table:
        return table if attributes is None else table.join(attributes, "customer_id")

    d = sliced(changes)
    net = d.group_by(*keys, "currency", "month").agg(delta=d.delta.sum().cast(LOCAL_SUM))
    spread = net.join(starts, net.month <= starts.m)
    level = spread.group_by(*keys, "currency", "m").agg(local=spread.delta.sum().cast(LOCAL_SUM))
    level = level.mutate(segment=_label(level, names, level.m))
    valued = level.join(pairs, [level.m == pairs.s, level.currency == pairs.currency])
    money = valued.group_by("e", "k", "segment").agg(
        start=convert(valued.local, valued.rate_s).sum().cast(MONEY),
        moved=convert(valued.local, valued.rate_e).sum().cast(MONEY),
    )

    change = as_count(per.after > 0) - as_count(per.before > 0)
    events = sliced(per.mutate(change=change).filter(change != 0))
    net = events.group_by(*keys, "month").agg(change=events.change.sum())
    spread = net.join(starts, net.month <= starts.m)
    active = spread.group_by(*keys, "m").agg(active=spread.change.sum())
    active = active.mutate(segment=_label(active, names, active.m))
    counts = active.group_by("segment", s=active.m).agg(active=active.active.sum())
    return money, counts


def _combined(money: list[dict], counts: list[dict], changed: list[dict]) -> dict:
    """The figures of every (e, k, slice) from the customers whose MRR is the same at s and
    e (everyone's sums less the changed customers') plus the changed customers' own.

    A customer whose MRR is the same at both ends is kept at its start MRR valued at the
    end side: it adds nothing to expansion, contraction or churn."""
    active = {(r["s"], r["segment"]): int(r["active"]) for r in counts}
    moved = {(r["e"], r["k"], r["segment"]): r for r in money}
    diff = {(r["e"], r["k"], r["segment"]): r for r in changed}
    # Slices named as the engine would group per-customer rows: those with a customer
    # that has MRR at a start or at an end.
    named = {(e, k, g) for (e, k, g), r in moved.items() if active.get((e - k, g), 0) > 0}
    named |= {key for key, r in diff.items() if r["customers_start"] or r["customers_end"]}
    found: dict[tuple[int, int, str], dict] = {}
    with localcontext(EXACT):
        for e, k, segment in named:
            everyone = moved.get((e, k, segment), {})
            start, end_side = as_decimal(everyone.get("start")), as_decimal(everyone.get("moved"))
            some = diff.get((e, k, segment), {})
            some_start = as_decimal(some.get("starting_mrr"))
            some_moved = as_decimal(some.get("start_moved"))
            # The unchanged customers' fx revalues MRR(s), which is their MRR(e) too.
            unchanged_fx = (end_side - some_moved) - (start - some_start)
            customers = active.get((e - k, segment), 0)
            found[(e, k, segment)] = {
                "starting_mrr": start,
                "fx": unchanged_fx + as_decimal(some.get("fx")),
                "ending_mrr": end_side - some_moved + as_decimal(some.get("ending_mrr")),
                **{n: as_decimal(some.get(n)) for n in ("expansion", "contraction", "churn")},
                "customers_start": customers,
                "customers_retained": customers
                - int(some.get("customers_start") or 0)
                + int(some.get("customers_retained") or 0),
            }
    return found
