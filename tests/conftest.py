"""Shared helpers: write small inputs to files and load them as a Book."""

from __future__ import annotations

import atexit
import csv
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

import nrr
from tests.browser import browser  # noqa: F401
from tests.pg import postgres_db, postgres_url  # noqa: F401

# Checked copies of input files (`nrr.sources.cache`) go to a folder of this run's own, never
# the user's cache: set before any test, so processes the tests start inherit it too.
_CACHE = tempfile.mkdtemp(prefix="nrr-test-cache-")
os.environ["NRR_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

SUB_HEADER = [
    "customer_id",
    "product",
    "start_date",
    "end_date",
    "amount",
    "interval",
    "quantity",
    "currency",
]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def sub(
    customer: str,
    start: str,
    end: str | None,
    amount: object,
    interval: object = "month",
    currency: str = "USD",
    product: str = "core",
    quantity: object = 1,
) -> list[object]:
    return [customer, product, start, end or "", amount, interval, quantity, currency]


@pytest.fixture
def make_book(tmp_path: Path) -> Callable[..., nrr.Book]:
    counter = iter(range(10**6))

    def build(
        subscriptions: list[list[object]],
        *,
        customers: list[dict[str, str]] | None = None,
        fx: list[list[object]] | None = None,
        currency: str = "USD",
    ) -> nrr.Book:
        n = next(counter)
        subs_path = write_csv(tmp_path / f"subs{n}.csv", SUB_HEADER, subscriptions)
        customers_path = fx_path = None
        if customers is not None:
            header = list(customers[0])
            customers_path = write_csv(
                tmp_path / f"customers{n}.csv",
                header,
                [[c.get(h, "") for h in header] for c in customers],
            )
        if fx is not None:
            fx_path = write_csv(tmp_path / f"fx{n}.csv", ["month", "currency", "rate"], fx)
        return nrr.load(subs_path, customers=customers_path, fx_rates=fx_path, currency=currency)

    return build
