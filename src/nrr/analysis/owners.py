"""Owners: what each customer success manager and each account manager is accountable for.

The owner of a customer is the value of an attribute column (`csm`, `account_manager` by
default) as the customers input gives it today: the CURRENT owner. A customer handed from one
CSM to another inside the window counts wholly for the one named now; past assignments are
not tracked (docs/causes-and-owners.md).

- CSMs own retention: per CSM, the book (starting MRR and logos at `s`, the cohort `C` of the
  window), ending MRR, GRR, NRR, churn (amount and customers), contraction, and MRR lost
  (churn + contraction).
- Account managers own growth: per account manager, the book, expansion and its split by
  cause (seats, price, cross-sell, dropped; nrr.analysis.causes) and NRR.

Every row comes from `Book.window(..., by=column)`, so the rows add up exactly to the whole
book's figures; that is checked on every call.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Context, Decimal, localcontext
from typing import TYPE_CHECKING

from nrr.analysis.causes import CauseParts, split_causes
from nrr.attributes import DERIVED
from nrr.errors import InputError, InternalError, Problem
from nrr.results import RetentionFigures, ratio_of

if TYPE_CHECKING:
    import pandas as pd

    from nrr.book import Book

__all__ = ["AccountManagerRow", "CsmRow", "OwnersResult", "owners"]

ALL_OWNERS = "(all)"
# Exact sums of 38-digit amounts (the default context keeps 28 digits).
_EXACT = Context(prec=100)


@dataclass(frozen=True)
class CsmRow:
    """One CSM's retention over the window (or the whole book, owner `(all)`).

    `book_size` is the starting MRR of the CSM's customers active at `s` (`logos` of them);
    `churned_customers` those with no MRR at `e`.
    """

    owner: str
    book_size: Decimal
    logos: int
    ending_mrr: Decimal
    churn: Decimal
    churned_customers: int
    contraction: Decimal

    @property
    def mrr_lost(self) -> Decimal:
        return self.churn + self.contraction

    @property
    def grr(self) -> Decimal | None:
        return ratio_of(self.book_size - self.contraction - self.churn, self.book_size)

    @property
    def nrr(self) -> Decimal | None:
        return ratio_of(self.ending_mrr, self.book_size)


@dataclass(frozen=True)
class AccountManagerRow:
    """One account manager's growth over the window (or the whole book, owner `(all)`).

    `expansion = seats + price + cross_sell + dropped` exactly (nrr.analysis.causes).
    """

    owner: str
    book_size: Decimal
    logos: int
    ending_mrr: Decimal
    expansion: Decimal
    cross_sell: Decimal
    seats: Decimal
    price: Decimal
    dropped: Decimal
    expanding_customers: int

    @property
    def nrr(self) -> Decimal | None:
        return ratio_of(self.ending_mrr, self.book_size)


@dataclass(frozen=True)
class OwnersResult:
    """Per CSM and per account manager over `start` -> `end`, largest book first."""

    start: str
    end: str
    window_months: int
    currency: str
    fx_mode: str
    csm_column: str
    am_column: str
    csm: tuple[CsmRow, ...]
    account_manager: tuple[AccountManagerRow, ...]
    csm_total: CsmRow
    account_manager_total: AccountManagerRow

    def frame(self) -> pd.DataFrame:
        """One row per (role, owner), `(all)` first in each role; rounded as the CLI prints."""
        from nrr.records.causes import owners_frame

        return owners_frame(self)


def check_owner_column(book: Book, column: str, flag: str) -> None:
    """A clear InputError when the owner column is not a column of the customers input."""
    tables = book.tables()
    available = list(tables.attributes)
    if column in available:
        return
    role = "CSM" if flag == "--csm" else "account manager"
    if tables.customers is None:
        message = (
            f"no customers input, so no {column!r} column names each customer's {role}; "
            f"give --customers FILE with that column (or name another with {flag} COLUMN)"
        )
    else:
        derived = " (cohort and tenure are not owners)" if column in DERIVED else ""
        message = (
            f"the customers input has no column {column!r} for the {role}{derived}; "
            f"available: {', '.join(available) or 'none'}; choose one with {flag} COLUMN"
        )
    raise InputError(Problem(source=flag, message=message))


def owners(
    book: Book,
    *,
    end: str,
    window: int = 12,
    csm: str = "csm",
    am: str = "account_manager",
    fx_mode: str = "spot",
) -> OwnersResult:
    """Per-CSM retention and per-account-manager expansion over `window` months ending `end`."""
    check_owner_column(book, csm, "--csm")
    check_owner_column(book, am, "--am")
    by_csm = book.window(end, window=window, by=csm, fx_mode=fx_mode)
    by_am = book.window(end, window=window, by=am, fx_mode=fx_mode)
    causes = split_causes(book, by_am)
    csm_rows = [_csm_row(name, figures) for name, figures in by_csm.segments]
    am_rows = [
        _am_row(name, figures, split.expansion)
        for (name, figures), (_, split) in zip(by_am.segments, causes.segments, strict=True)
    ]
    csm_total = _csm_row(ALL_OWNERS, by_csm.overall)
    am_total = _am_row(ALL_OWNERS, by_am.overall, causes.overall.expansion)
    _check_sum(csm_rows, csm_total)
    _check_sum(am_rows, am_total)
    return OwnersResult(
        start=by_csm.start,
        end=by_csm.end,
        window_months=by_csm.window_months,
        currency=by_csm.currency,
        fx_mode=by_csm.fx_mode,
        csm_column=csm,
        am_column=am,
        csm=tuple(sorted(csm_rows, key=_largest_first)),
        account_manager=tuple(sorted(am_rows, key=_largest_first)),
        csm_total=csm_total,
        account_manager_total=am_total,
    )


def _csm_row(name: str, f: RetentionFigures) -> CsmRow:
    return CsmRow(
        owner=name,
        book_size=f.starting_mrr,
        logos=f.customers_start,
        ending_mrr=f.ending_mrr,
        churn=f.churn,
        churned_customers=f.customers_start - f.customers_retained,
        contraction=f.contraction,
    )


def _am_row(name: str, f: RetentionFigures, expansion: CauseParts) -> AccountManagerRow:
    if expansion.total != f.expansion:
        raise InternalError(f"expansion of {name!r}: causes {expansion.total} != {f.expansion}")
    return AccountManagerRow(
        owner=name,
        book_size=f.starting_mrr,
        logos=f.customers_start,
        ending_mrr=f.ending_mrr,
        expansion=f.expansion,
        cross_sell=expansion.cross_sell,
        seats=expansion.seats,
        price=expansion.price,
        dropped=expansion.dropped,
        expanding_customers=expansion.customers,
    )


def _largest_first(row: CsmRow | AccountManagerRow) -> tuple[Decimal, str]:
    return (-row.book_size, row.owner)


def _check_sum(
    rows: list[CsmRow] | list[AccountManagerRow], total: CsmRow | AccountManagerRow
) -> None:
    """Owners partition the customers, so every additive column adds up to the book's."""
    with localcontext(_EXACT):
        for f in fields(total):
            if f.name == "owner":
                continue
            expected = getattr(total, f.name)
            summed = sum((getattr(r, f.name) for r in rows), type(expected)(0))
            if summed != expected:
                raise InternalError(
                    f"owner rows' {f.name} add up to {summed}, not the book's {expected}"
                )
