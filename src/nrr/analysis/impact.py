"""Segment impact: which slices hold the distance between the book's NRR and a target.

Over one window (METRICS.md section 4), for each value `v` of an attribute (or of a pair,
`segment,market`), with `S` the book's starting MRR, `E` its ending MRR and `t` the target:

- `share_v = starting_v / S`: the slice's part of the base.
- `contribution_v = share_v x (NRR_v - t) = (ending_v - t x starting_v) / S`, in NRR points
  (a fraction: 0.0123 is 1.23 points). Because the slices partition the cohort,
  `sum_v contribution_v = E / S - t = NRR - t`, the book's distance from the target.
  A slice with no starting MRR contributes 0.
- `mrr_at_stake_v = t x starting_v - ending_v`: the MRR the slice lacks to reach the target
  (negative when it is above it). It sums to `t x S - E`, and equals `-contribution_v x S`:
  ranking by either gives the same order.
- `mrr_lost_v = contraction_v + churn_v`: the slice's gross loss (its GRR gap times starting).

Slices are ranked by MRR at stake, largest first, so the top rows are where reaching the
target needs the most money.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING, ClassVar

from nrr.attributes import PAIR, attribute_names
from nrr.errors import InputError, InternalError, Problem
from nrr.results import RetentionFigures

if TYPE_CHECKING:
    import pandas as pd

    from nrr.book import Book

__all__ = ["ImpactResult", "ImpactSlice", "impact", "parse_target"]

# Money times a target is exact in this many digits for any amount nrr stores (decimal(38,18))
# times any target a person types; the Inexact trap proves it on every use.
_EXACT_DIGITS = 120
# Ratios (share, contribution) are quotients, rounded once at Python's default precision.
_RATIO_DIGITS = decimal.getcontext().prec


def _exact() -> decimal.Context:
    context = decimal.Context(prec=_EXACT_DIGITS)
    context.traps[decimal.Inexact] = True
    return context


def _quotient(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    # Rounded once, in the default 28 significant digits, like every other ratio nrr computes.
    return None if denominator == 0 else numerator / denominator


def parse_target(text: str | Decimal | int | float) -> Decimal:
    """A target NRR as a fraction: `100%` -> 1, `105%` -> 1.05, `1.05` -> 1.05.

    A bare number is a fraction, so it must be at most 3 (300%); `105` is refused rather than
    read as 10,500%. The target must be above 0."""
    raw = str(text).strip().replace(" ", "")
    percent = raw.endswith("%")
    try:
        value = Decimal(raw[:-1] if percent else raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InputError(
            Problem(
                source="--target",
                message=f"{text!r} is not a target NRR; write a percent such as 100% or 105%, "
                "or a fraction such as 1.05",
            )
        )
    if percent:
        value = value / 100
    if value <= 0 or value > 3:
        hint = f"; did you mean {raw}%?" if not percent and value > 3 else ""
        raise InputError(
            Problem(
                source="--target",
                message=f"{text!r} is not a target between 0% and 300% (a fraction between 0 "
                f"and 3){hint}",
            )
        )
    return value


@dataclass(frozen=True)
class ImpactSlice:
    """One slice's place in the distance between the book's NRR and the target.

    `values` gives each attribute's value ((`segment`, `SMB`), (`market`, `US`)); `base_mrr`
    is the book's starting MRR, the denominator of `share` and `contribution`."""

    NOT_MONEY: ClassVar[frozenset[str]] = frozenset({"target"})

    rank: int
    segment: str
    values: tuple[tuple[str, str], ...]
    figures: RetentionFigures
    base_mrr: Decimal
    target: Decimal

    @property
    def starting_mrr(self) -> Decimal:
        return self.figures.starting_mrr

    @property
    def ending_mrr(self) -> Decimal:
        return self.figures.ending_mrr

    @property
    def nrr(self) -> Decimal | None:
        return self.figures.nrr

    @property
    def grr(self) -> Decimal | None:
        return self.figures.grr

    @property
    def share(self) -> Decimal | None:
        return _quotient(self.starting_mrr, self.base_mrr)

    @property
    def mrr_at_stake(self) -> Decimal:
        with localcontext(_exact()):
            return self.target * self.starting_mrr - self.ending_mrr

    @property
    def contribution(self) -> Decimal | None:
        with localcontext(_exact()):
            above = self.ending_mrr - self.target * self.starting_mrr
        return _quotient(above, self.base_mrr)

    @property
    def mrr_lost(self) -> Decimal:
        with localcontext(_exact()):
            return self.figures.contraction + self.figures.churn

    def value_of(self, attribute: str) -> str:
        return dict(self.values)[attribute]


@dataclass(frozen=True)
class ImpactResult:
    """Segment impact over the window `start` -> `end` against `target` (a fraction)."""

    NOT_MONEY: ClassVar[frozenset[str]] = frozenset({"target"})

    start: str
    end: str
    window_months: int
    currency: str
    fx_mode: str
    by: tuple[str, ...]
    target: Decimal
    overall: RetentionFigures
    slices: tuple[ImpactSlice, ...]

    @property
    def distance(self) -> Decimal | None:
        """The book's NRR minus the target, in NRR points (a fraction); the slices'
        contributions add up to it."""
        with localcontext(_exact()):
            above = self.overall.ending_mrr - self.target * self.overall.starting_mrr
        return _quotient(above, self.overall.starting_mrr)

    @property
    def mrr_at_stake(self) -> Decimal:
        """MRR the book lacks to reach the target: target x starting - ending."""
        with localcontext(_exact()):
            return self.target * self.overall.starting_mrr - self.overall.ending_mrr

    @property
    def mrr_lost(self) -> Decimal:
        with localcontext(_exact()):
            return self.overall.contraction + self.overall.churn

    def frame(self) -> pd.DataFrame:
        """One row for the book (`(all)`), then one per slice in rank order; amounts in cents
        and ratios to 4 places, as the CLI prints them; window context in `attrs`."""
        from nrr.records.impact import impact_frame

        return impact_frame(self)


def impact(
    book: Book,
    *,
    by: str,
    end: str,
    window: int = 12,
    target: str | Decimal | float = "100%",
    fx_mode: str = "spot",
) -> ImpactResult:
    """Each slice of `by` (one attribute, or two or more joined by a comma) ranked by the MRR
    it lacks to bring the book's NRR over `window` months ending `end` to `target`."""
    goal = parse_target(target)
    if not by or not by.strip():
        raise InputError(
            Problem(source="--by", message="name an attribute to rank, such as segment")
        )
    result = book.window(end, window=window, by=by, fx_mode=fx_mode)
    names = tuple(attribute_names(by))
    base = result.overall.starting_mrr
    slices = []
    for name, figures in result.segments:
        parts = name.split(PAIR) if len(names) > 1 else [name]
        if len(parts) != len(names):
            raise InputError(
                Problem(
                    source="--by",
                    message=f"the slice {name!r} cannot be split into {', '.join(names)}: "
                    f"an attribute value contains {PAIR.strip()!r}; rename it or rank by one "
                    "attribute",
                )
            )
        slices.append(
            ImpactSlice(
                rank=0,
                segment=name,
                values=tuple(zip(names, parts, strict=True)),
                figures=figures,
                base_mrr=base,
                target=goal,
            )
        )
    # Largest at stake first; ties by name so the order never depends on the engine.
    slices.sort(key=lambda s: s.segment)
    slices.sort(key=lambda s: s.mrr_at_stake, reverse=True)
    ranked = tuple(
        ImpactSlice(
            rank=i,
            segment=s.segment,
            values=s.values,
            figures=s.figures,
            base_mrr=s.base_mrr,
            target=s.target,
        )
        for i, s in enumerate(slices, start=1)
    )
    outcome = ImpactResult(
        start=result.start,
        end=result.end,
        window_months=result.window_months,
        currency=result.currency,
        fx_mode=result.fx_mode,
        by=names,
        target=goal,
        overall=result.overall,
        slices=ranked,
    )
    check_identities(outcome)
    return outcome


def check_identities(result: ImpactResult) -> None:
    """The slices must add up to the book exactly, or the ranking is not of this book.

    Amounts are checked in exact decimal arithmetic. Contributions are quotients, so their
    identity is checked exactly as fractions (sum of (ending_v - t x starting_v) / S equals
    E / S - t), and their rounded decimals to within the rounding of each term."""
    overall = result.overall
    slices = result.slices
    with localcontext(_exact()):
        sums = {
            "starting_mrr": (
                sum((s.starting_mrr for s in slices), Decimal(0)),
                overall.starting_mrr,
            ),
            "ending_mrr": (sum((s.ending_mrr for s in slices), Decimal(0)), overall.ending_mrr),
            "mrr_at_stake": (
                sum((s.mrr_at_stake for s in slices), Decimal(0)),
                result.mrr_at_stake,
            ),
            "mrr_lost": (sum((s.mrr_lost for s in slices), Decimal(0)), result.mrr_lost),
        }
    for name, (total, expected) in sums.items():
        if total != expected:
            raise InternalError(f"impact: slices' {name} add up to {total}, not {expected}")
    base = overall.starting_mrr
    if base == 0:
        return
    exact = sum(
        (Fraction(s.ending_mrr) - Fraction(s.target) * Fraction(s.starting_mrr) for s in slices),
        Fraction(0),
    ) / Fraction(base)
    if exact != Fraction(overall.ending_mrr) / Fraction(base) - Fraction(result.target):
        raise InternalError("impact: contributions do not add up to the distance from target")
    contributions = [s.contribution or Decimal(0) for s in slices]
    with localcontext() as context:
        context.prec = _RATIO_DIGITS + 10
        gap = abs(sum(contributions, Decimal(0)) - (result.distance or Decimal(0)))
    # Each quotient is rounded once at _RATIO_DIGITS significant digits, so the decimal sum
    # can drift from the distance by at most one unit in that place per slice (and one more).
    unit = Decimal(1).scaleb(-_RATIO_DIGITS + 1) * (
        max([abs(c) for c in contributions] + [abs(result.distance or 0), Decimal(1)])
    )
    if gap > unit * (len(slices) + 1):
        raise InternalError(f"impact: contributions miss the distance by {gap}")
