"""What-if: today's ARR compounded at today's NRR, what one more point of GRR or expansion is
worth, and a forecast of the existing base's ARR with an interval.

Every amount is ARR (12 x MRR): a what-if is about a year and more.

- Today's base: `arr = 12 x MRR at end` of every customer active at `end`, at `end`'s rates
  (the ending MRR of the bridge month `end`). `nrr` and `grr`: the 12-month window ending at
  `end` (spot rates), as `nrr metrics` prints them.
- Projection: `arr_n = arr x nrr^n` for n = 1..years, exact (the power is taken in enough
  digits that nothing is rounded; presentation rounds to cents).
- One more point: NRR = GRR + expansion rate + fx rate (each over the starting MRR), so a point
  more of GRR or of expansion raises NRR by 0.01; GRR cannot pass 100%, so its point is
  `min(0.01, 1 - grr)`. Worth after n years = `arr x ((nrr + d)^n - nrr^n)`, exact.
- Forecast: the 1-month NRRs of the 12 months up to `end` (months with no starting MRR are
  skipped). Point for h months ahead = `arr x g^h`, g their geometric mean. Interval: a
  bootstrap (numpy `default_rng(seed)`, `paths` paths, each month's NRR drawn with replacement
  from the observed ones; a path's value is `arr x` the product of its h draws) and the
  `(1 - interval) / 2` and `(1 + interval) / 2` quantiles of the paths at each h, widened to
  the point when both fall on one side of it (possible when few monthly NRRs differ).
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING

import numpy as np

from nrr.errors import InputError, InternalError, Problem
from nrr.limits import check_count
from nrr.months import month_label, parse_month
from nrr.results import ARR_FACTOR

if TYPE_CHECKING:
    import pandas as pd

    from nrr.book import Book

__all__ = [
    "POINT",
    "WORTH_YEARS",
    "ForecastMonth",
    "PointWorth",
    "WhatIfResult",
    "check_options",
    "forecast",
    "geometric_mean",
    "whatif",
]

POINT = Decimal("0.01")
WORTH_YEARS = (1, 3, 5)
PATHS = 10_000
MAX_YEARS = 50
MAX_HORIZON = 120
# Geometric means and bootstrap bounds are estimates, not sums of money: this many digits.
_ESTIMATE_DIGITS = 50


def _exact(*operands: Decimal, power: int = 1) -> decimal.Context:
    """A context in which products of `operands` up to `power` lose no digit (and prove it)."""
    digits = sum(len(x.as_tuple().digits) for x in operands) * max(power, 1) + 40
    context = decimal.Context(prec=digits, Emin=-999_999, Emax=999_999)
    context.traps[decimal.Inexact] = True
    return context


def _compound(arr: Decimal, rate: Decimal, years: int) -> Decimal:
    """`arr x rate^years`, exact."""
    with localcontext(_exact(arr, rate, power=years)):
        return arr * rate**years


@dataclass(frozen=True)
class PointWorth:
    """What `step` more NRR through `lever` (`grr` or `expansion`) adds to ARR after each of
    `WORTH_YEARS`: `worth[i] = arr x ((nrr + step)^n - nrr^n)` for n = WORTH_YEARS[i]."""

    lever: str
    step: Decimal
    nrr: Decimal
    worth: tuple[tuple[int, Decimal], ...]


@dataclass(frozen=True)
class ForecastMonth:
    """The existing base's ARR `months_ahead` months after the end month."""

    month: str
    months_ahead: int
    arr: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class WhatIfResult:
    """What-if figures on the base at `end`; every amount is ARR."""

    end: str
    window_start: str
    currency: str
    mrr: Decimal
    arr: Decimal
    nrr: Decimal
    grr: Decimal
    expansion_rate: Decimal
    fx_rate: Decimal
    years: int
    projection: tuple[tuple[int, Decimal], ...]
    one_point: tuple[PointWorth, ...]
    monthly_nrr: tuple[tuple[str, Decimal], ...]
    geometric_mean: Decimal
    horizon: int
    interval: float
    seed: int
    paths: int
    forecast: tuple[ForecastMonth, ...]

    def frame(self) -> pd.DataFrame:
        """Tidy rows (section, lever, step, unit, month, arr, low, high, nrr) with amounts in
        cents and ratios to 4 places, as `nrr whatif --format csv` prints them."""
        from nrr.records.whatif import whatif_frame

        return whatif_frame(self)


def geometric_mean(values: list[Decimal]) -> Decimal:
    """The k-th root of the product of k ratios (0 if any is 0), to 50 significant digits."""
    if not values:
        raise InternalError("geometric mean of nothing")
    if any(v == 0 for v in values):
        return Decimal(0)
    if len(set(values)) == 1:
        return values[0]  # the mean of equal ratios is that ratio, with no ln/exp rounding
    with localcontext() as context:
        context.prec = _ESTIMATE_DIGITS
        return (sum((v.ln() for v in values), Decimal(0)) / len(values)).exp()


def forecast(
    arr: Decimal,
    monthly_nrr: list[Decimal],
    *,
    end: int,
    horizon: int,
    interval: float,
    seed: int,
    paths: int = PATHS,
) -> tuple[Decimal, tuple[ForecastMonth, ...]]:
    """The geometric mean of `monthly_nrr` and, for h = 1..horizon, the point `arr x g^h` with
    its bootstrap interval (see the module docstring). Deterministic for a seed."""
    g = geometric_mean(monthly_nrr)
    rng = np.random.default_rng(seed)
    rates = np.array([float(v) for v in monthly_nrr])
    draws = rng.integers(0, len(rates), size=(paths, horizon))
    values = np.cumprod(rates[draws], axis=1)
    low, high = np.quantile(values, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
    months = []
    with localcontext() as context:
        context.prec = _ESTIMATE_DIGITS
        for h in range(1, horizon + 1):
            point = arr * g**h
            # With few distinct monthly NRRs the paths' quantiles can both sit on one side of
            # the point (10 flat months of 12 make next month's 80% interval exactly flat);
            # the interval is then widened to reach the point, never narrowed.
            months.append(
                ForecastMonth(
                    month=month_label(end + h),
                    months_ahead=h,
                    arr=point,
                    low=min(arr * Decimal(repr(float(low[h - 1]))), point),
                    high=max(arr * Decimal(repr(float(high[h - 1]))), point),
                )
            )
    return g, tuple(months)


def check_options(years: int, horizon: int, interval: float, seed: int, paths: int = PATHS) -> None:
    """Refuse options out of range, before any data is read."""
    check_count(years, flag="--years", low=1, high=MAX_YEARS, unit="years")
    check_count(horizon, flag="--horizon", low=1, high=MAX_HORIZON, unit="months")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(Problem(source="--seed", message=f"{seed!r}: give a seed of 0 or more"))
    checks = (
        (
            "--interval",
            isinstance(interval, int | float) and 0 < interval < 1,
            f"{interval}: give the interval's coverage as a fraction between 0 and 1, "
            "such as 0.8 for 80%",
        ),
        ("paths", paths >= 100, f"{paths}: give at least 100 bootstrap paths"),
    )
    for flag, ok, message in checks:
        if not ok:
            raise InputError(Problem(source=flag, message=message))


def whatif(
    book: Book,
    *,
    end: str,
    years: int = 5,
    horizon: int = 12,
    interval: float = 0.8,
    seed: int = 0,
    paths: int = PATHS,
) -> WhatIfResult:
    """What-if figures for the base at `end` (`YYYY-MM`); see the module docstring."""
    check_options(years, horizon, interval, seed, paths)
    end_m = parse_month(end, what="--end")
    window = book.window(end, window=12)
    figures = window.overall
    if figures.nrr is None or figures.grr is None:
        raise InputError(
            Problem(
                source="--end",
                message=f"no customer had MRR in {window.start}, 12 months before {end}, so "
                "there is no 12-month NRR to compound; choose a later --end",
            )
        )
    # One bridge gives today's MRR and the 1-month NRRs: for month m, the customers active in
    # m-1 keep (ending - new - reactivation) of their starting MRR, which is exactly
    # book.window(m, window=1).overall.nrr, at a twelfth of the cost.
    bridge = book.bridge(month_label(end_m - 11), end)
    mrr = bridge[-1].ending_mrr
    arr = mrr * ARR_FACTOR
    monthly = tuple(
        (row.month, (row.ending_mrr - row.new - row.reactivation) / row.starting_mrr)
        for row in bridge
        if row.starting_mrr != 0
    )
    if len(monthly) < 2:
        raise InputError(
            Problem(
                source="--end",
                message=f"the forecast needs the 1-month NRR of at least 2 of the 12 months up "
                f"to {end}, and {len(monthly)} had customers at their start; choose a later "
                "--end",
            )
        )
    nrr, grr = figures.nrr, figures.grr
    projection = tuple((n, _compound(arr, nrr, n)) for n in range(1, years + 1))
    with localcontext(_exact(grr)):
        headroom = 1 - grr
    one_point = tuple(
        _worth(lever, step, arr, nrr)
        for lever, step in (("grr", min(POINT, headroom)), ("expansion", POINT))
    )
    g, months = forecast(
        arr,
        [v for _, v in monthly],
        end=end_m,
        horizon=horizon,
        interval=interval,
        seed=seed,
        paths=paths,
    )
    start = figures.starting_mrr
    return WhatIfResult(
        end=end,
        window_start=window.start,
        currency=book.currency,
        mrr=mrr,
        arr=arr,
        nrr=nrr,
        grr=grr,
        expansion_rate=figures.expansion / start,
        fx_rate=figures.fx / start,
        years=years,
        projection=projection,
        one_point=one_point,
        monthly_nrr=monthly,
        geometric_mean=g,
        horizon=horizon,
        interval=interval,
        seed=seed,
        paths=paths,
        forecast=months,
    )


def _worth(lever: str, step: Decimal, arr: Decimal, nrr: Decimal) -> PointWorth:
    with localcontext(_exact(nrr, step)):
        raised = nrr + step
    worth = []
    for n in WORTH_YEARS:
        with localcontext(_exact(arr, raised, nrr, power=n)):
            worth.append((n, arr * (raised**n - nrr**n)))
    return PointWorth(lever=lever, step=step, nrr=raised, worth=tuple(worth))
