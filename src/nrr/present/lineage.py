"""Where the numbers came from: inputs, what happened to every row, the options in force.

The report's lineage section and the dashboard's `/api/lineage` both show this record, so a
reader can trace a figure back to the files and the rules that produced it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nrr.book import Book

__all__ = ["lineage", "nrr_version"]


def nrr_version() -> str:
    try:
        return version("nrr")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def lineage(book: Book, options: dict[str, object] | None = None) -> dict[str, object]:
    """A JSON-ready record of the book's inputs, row accounting, conventions and `options`
    (the view's own settings, such as the window end and length)."""
    inputs = book.inputs
    return {
        "nrr_version": nrr_version(),
        "inputs": {
            "subscriptions": inputs.subscriptions,
            "customers": inputs.customers,
            "fx_rates": inputs.fx_rates,
            "format": inputs.source_format,
        },
        "currency": book.currency,
        "currencies": list(book.currencies),
        "rows": [account.as_dict() for account in book.intake.accounts.values()],
        "rejected_rows": len(book.intake.rejections),
        "on_invalid": book.intake.on_invalid,
        "warnings": list(book.intake.warnings),
        "conventions": book.conventions.as_dict(),
        "counted_with": book.conventions.describe(),
        "filters": [{"attribute": a, "value": v} for a, v in book.filters],
        "options": dict(options or {}),
    }
