"""nrr: Net Revenue Retention and the MRR bridge from subscription lines, exact to the cent.

    import nrr
    book = nrr.load(subscriptions="subscriptions.csv", customers="customers.csv")
    book.metrics(end="2025-12", window=12, by="segment")
    book.movements(start="2025-01", end="2025-12")

Definitions: docs/metrics.md. Errors: `nrr.InputError` (fix the input) and
`nrr.InternalError` (a bug), both `nrr.NRRError`.
"""

from nrr.book import Book
from nrr.errors import InputError, InternalError, NRRError, Problem
from nrr.loading import load
from nrr.results import BridgeMonth, RetentionFigures, WindowResult

__all__ = [
    "Book",
    "BridgeMonth",
    "InputError",
    "InternalError",
    "NRRError",
    "Problem",
    "RetentionFigures",
    "WindowResult",
    "load",
]

__version__ = "0.1.0"
