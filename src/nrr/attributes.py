"""Customer attributes for slicing, including the derived `cohort` and `tenure`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from nrr.errors import InputError, Problem

__all__ = [
    "ALL",
    "DERIVED",
    "NONE",
    "PAIR",
    "attribute_names",
    "check_attribute",
]

NONE = "(none)"
DERIVED = ("cohort", "tenure")
ALL = "(all)"
# Joins the values of several attributes into one slice name: `SMB × US`.
PAIR = " × "


def attribute_names(by: str | None) -> list[str]:
    """The attributes of a `by`: one name, or several joined by commas (`segment,market`)."""
    if by is None:
        return []
    return [name.strip() for name in by.split(",")]


class _Columns(Protocol):
    """A customers table: whatever names its columns (a DataFrame, or a book's customer columns)."""

    @property
    def columns(self) -> Sequence[str]: ...


def check_attribute(
    by: str | None,
    customers: _Columns | None,
    *,
    allow_tenure: bool = True,
    flag: str = "--by",
) -> None:
    if by is not None and not isinstance(by, str):
        raise InputError(
            Problem(
                source=flag,
                message=f"got {by!r} ({type(by).__name__}); give an attribute's name "
                "(or two joined by a comma)",
            )
        )
    names = attribute_names(by)
    available = list(DERIVED) + (
        [c for c in customers.columns if c != "customer_id"] if customers is not None else []
    )
    if len(set(names)) != len(names):
        raise InputError(Problem(source=flag, message=f"{by!r} names an attribute twice"))
    if "product" in names and flag == "--by" and "product" not in available:
        # `--by product` alone is the line-level slice (nrr.products), handled before here.
        raise InputError(
            Problem(
                source=flag,
                message="product is a column of the subscription lines, so --by product "
                "slices lines on its own (in metrics and movements); it cannot be combined "
                "with another attribute or used by this command",
            )
        )
    for name in names:
        if name == "tenure" and not allow_tenure and flag != "--by":
            raise InputError(
                Problem(
                    source=flag,
                    message="tenure depends on the window, so it cannot pick customers; "
                    "use cohort (the first month active) instead",
                )
            )
        if name == "tenure" and not allow_tenure:
            raise InputError(
                Problem(
                    source=flag,
                    message="tenure changes every month, so a monthly bridge by tenure would "
                    "not chain (one band's ending MRR is not the next month's starting MRR); "
                    "use --by cohort, or `nrr metrics --by tenure` for a window",
                )
            )
        if name not in available:
            raise InputError(
                Problem(
                    source=flag,
                    message=f"no attribute {name!r}; available: {', '.join(available)}"
                    + ("" if customers is not None else " (give --customers for more)")
                    + (
                        "; combine two with a comma, as in segment,market"
                        if "," in (by or "")
                        else ""
                    ),
                )
            )
