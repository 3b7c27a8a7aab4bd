"""A seeded sample SaaS business, the data behind `nrr demo`.

`generate_demo(seed=7, customers=2000)` returns three tables in nrr's canonical format:

- `subscriptions`: customer_id, product, start_date, end_date, amount, interval, quantity,
  currency. About 2,000 customers arriving over 48 months (2022-01 to 2025-12); three
  products (Core, Analytics, Automation) billed per seat; monthly, quarterly and annual plans;
  USD, EUR and GBP. A line closes and a new one opens whenever seats or price change.
- `customers`: customer_id, segment (SMB, Mid-Market, Enterprise), market, use_case, csm,
  account_manager.
- `fx_rates`: month, currency, rate (USD per unit) for every month, as a random walk.
- The health inputs `usage`, `tickets`, `surveys`, `touchpoints` and `stakeholders`, drawn
  afterwards from the simulated history with a generator of their own (see `signals.py`), so
  the three tables above are the same with or without them.

Behaviour differs by segment as in real books: SMB churns often and expands little (NRR near
85-95%), Enterprise rarely churns and grows through seats and cross-sell (NRR near 115-125%).
Annual plans churn, contract and take price increases only at their renewal; churned
customers sometimes come back (reactivation).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from nrr import sqltext
from nrr.limits import check_count
from nrr.outputs import atomic_path, write_text

__all__ = ["DemoData", "generate_demo", "write_demo"]

FIRST_MONTH = date(2022, 1, 1)
MONTHS = 48
# Enough to test nrr at scale (bench/ makes millions of lines its own way), small enough to
# fit in memory: the simulation keeps every customer in Python lists.
MAX_DEMO_CUSTOMERS = 1_000_000
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
MARKETS = ("North America", "EMEA", "APAC", "LATAM")
USE_CASES = ("Sales analytics", "Marketing ops", "Finance reporting", "Support operations")
PRODUCTS = ("Core", "Analytics", "Automation")
# Monthly list price per seat in USD, by segment.
SEAT_PRICE = {
    "SMB": {"Core": 25, "Analytics": 15, "Automation": 20},
    "Mid-Market": {"Core": 40, "Analytics": 25, "Automation": 30},
    "Enterprise": {"Core": 60, "Analytics": 35, "Automation": 45},
}
FX_START = {"EUR": 1.08, "GBP": 1.26}
CSMS = {
    "SMB": ("Digital CS",),
    "Mid-Market": ("Ana Ruiz", "Ben Okafor", "Chloe Martin", "Dev Patel"),
    "Enterprise": ("Elena Rossi", "Farid Haddad", "Grace Kim"),
}
ACCOUNT_MANAGERS = ("Hugo Lambert", "Ines Costa", "Jonas Berg", "Kara Singh", "Liam Walsh")


@dataclass(frozen=True)
class _Profile:
    segment_share: float
    plans: tuple[tuple[int, float], ...]  # (interval months, probability)
    seats: tuple[float, float]  # lognormal mean, sigma of the first seat count
    churn: float  # monthly hazard
    expand: float
    contract: float
    cross_sell: float
    drop: float
    price_uplift: float  # probability of a list-price rise at each renewal


PROFILES = {
    "SMB": _Profile(
        0.60,
        ((1, 0.70), (3, 0.15), (12, 0.15)),
        (1.9, 0.5),
        churn=0.012,
        expand=0.02,
        contract=0.012,
        cross_sell=0.003,
        drop=0.004,
        price_uplift=0.25,
    ),
    "Mid-Market": _Profile(
        0.28,
        ((1, 0.30), (3, 0.20), (12, 0.50)),
        (3.4, 0.5),
        churn=0.0075,
        expand=0.03,
        contract=0.014,
        cross_sell=0.010,
        drop=0.004,
        price_uplift=0.5,
    ),
    "Enterprise": _Profile(
        0.12,
        ((3, 0.15), (12, 0.85)),
        (5.2, 0.5),
        churn=0.0025,
        expand=0.055,
        contract=0.012,
        cross_sell=0.020,
        drop=0.002,
        price_uplift=0.7,
    ),
}
REACTIVATE = 0.012  # monthly chance a churned customer comes back


@dataclass
class DemoData:
    subscriptions: pd.DataFrame
    customers: pd.DataFrame
    fx_rates: pd.DataFrame
    last_month: str = field(default="2025-12")
    # The health inputs (nrr.datasets.signals); None when not generated.
    usage: pd.DataFrame | None = None
    tickets: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    touchpoints: pd.DataFrame | None = None
    stakeholders: pd.DataFrame | None = None


def _month_start(offset: int) -> date:
    year, month0 = divmod(FIRST_MONTH.year * 12 + FIRST_MONTH.month - 1 + offset, 12)
    return date(year, month0 + 1, 1)


def _day_in(offset: int, rng: np.random.Generator) -> date:
    first = _month_start(offset)
    last = calendar.monthrange(first.year, first.month)[1]
    return first.replace(day=int(rng.integers(1, last + 1)))


@dataclass
class _Item:
    product: str
    seats: int
    price: float  # per seat per month, in the customer's currency
    start: date


class _Customer:
    def __init__(
        self, cid: str, segment: str, currency: str, interval: int, rng: np.random.Generator
    ):
        self.cid, self.segment, self.currency, self.interval = cid, segment, currency, interval
        self.rng = rng
        self.items: dict[str, _Item] = {}
        self.lines: list[dict] = []
        self.anniversary = 0

    def open(self, product: str, seats: int, price: float, when: date) -> None:
        self.items[product] = _Item(product, max(1, seats), round(price, 2), when)

    def close(self, product: str, when: date) -> _Item:
        item = self.items.pop(product)
        self._emit(item, when)
        return item

    def change(
        self, product: str, when: date, *, seats: int | None = None, price: float | None = None
    ) -> None:
        item = self.close(product, when)
        self.open(
            product,
            seats if seats is not None else item.seats,
            price if price is not None else item.price,
            when,
        )

    def finish(self) -> None:
        for item in self.items.values():
            self._emit(item, None)
        self.items.clear()

    def _emit(self, item: _Item, end: date | None) -> None:
        if end is not None and end <= item.start:
            end = item.start  # a same-day change leaves a zero-length line, as billing exports do
        self.lines.append(
            {
                "customer_id": self.cid,
                "product": item.product,
                "start_date": item.start.isoformat(),
                "end_date": "" if end is None else end.isoformat(),
                "amount": f"{item.seats * item.price * self.interval:.2f}",
                "interval": {1: "month", 3: "quarter", 12: "year"}[self.interval],
                "quantity": item.seats,
                "currency": self.currency,
            }
        )


def _fx_rates(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    rows, paths = [], {}
    for currency, level in FX_START.items():
        path = []
        for offset in range(MONTHS):
            level *= float(np.exp(rng.normal(0, 0.015)))
            path.append(level)
            rows.append(
                {
                    "month": _month_start(offset).strftime("%Y-%m"),
                    "currency": currency,
                    "rate": f"{level:.6f}",
                }
            )
        paths[currency] = path
    return pd.DataFrame(rows), paths


def generate_demo(*, seed: int = 7, customers: int = 2000, signals: bool = True) -> DemoData:
    """Generate the sample business; the same seed always gives the same data.

    With `signals` (the default) the health inputs are generated too, from the finished
    history; they never change the subscriptions, customers or FX rates.
    """
    check_count(customers, flag="--customers", low=1, high=MAX_DEMO_CUSTOMERS, unit="customers")
    rng = np.random.default_rng(seed)
    fx_frame, _ = _fx_rates(rng)
    weights = np.array([1 + m / 24 for m in range(MONTHS)])
    arrivals = np.sort(rng.choice(MONTHS, size=customers, p=weights / weights.sum()))
    people, lines = [], []
    for number, arrival in enumerate(arrivals, start=1):
        segment = str(rng.choice(SEGMENTS, p=[PROFILES[s].segment_share for s in SEGMENTS]))
        market = str(rng.choice(MARKETS, p=[0.5, 0.3, 0.15, 0.05]))
        currency = "USD"
        if market == "EMEA":
            currency = "EUR" if rng.random() < 0.7 else "GBP"
        profile = PROFILES[segment]
        intervals, chances = zip(*profile.plans, strict=True)
        interval = int(rng.choice(intervals, p=chances))
        cid = f"C{number:05d}"
        people.append(
            {
                "customer_id": cid,
                "segment": segment,
                "market": market,
                "use_case": str(rng.choice(USE_CASES)),
                "csm": str(rng.choice(CSMS[segment])),
                "account_manager": str(rng.choice(ACCOUNT_MANAGERS)),
            }
        )
        lines += _simulate(cid, segment, currency, interval, int(arrival), profile, rng)
    subscriptions = pd.DataFrame(lines)
    data = DemoData(subscriptions=subscriptions, customers=pd.DataFrame(people), fx_rates=fx_frame)
    if signals:
        from nrr.datasets.signals import generate_signals

        for name, frame in generate_signals(data, seed=seed).items():
            setattr(data, name, frame)
    return data


def _local_price(segment: str, product: str, currency: str) -> float:
    return round(SEAT_PRICE[segment][product] / FX_START.get(currency, 1.0), 2)


def _simulate(
    cid: str,
    segment: str,
    currency: str,
    interval: int,
    arrival: int,
    profile: _Profile,
    rng: np.random.Generator,
) -> list[dict]:
    customer = _Customer(cid, segment, currency, interval, rng)
    mean, sigma = profile.seats
    core_seats = max(1, int(rng.lognormal(mean, sigma)))
    customer.open(
        "Core", core_seats, _local_price(segment, "Core", currency), _day_in(arrival, rng)
    )
    active, churned_at = True, None
    for month in range(arrival + 1, MONTHS):
        renewal = (month - arrival) % max(interval, 1) == 0
        annual_gate = renewal if interval == 12 else True
        when = _day_in(month, rng)
        if not active:
            if churned_at is not None and month - churned_at <= 24 and rng.random() < REACTIVATE:
                customer.open(
                    "Core",
                    max(1, int(core_seats * rng.uniform(0.5, 1.0))),
                    _local_price(segment, "Core", currency),
                    when,
                )
                active = True
            continue
        hazard = 1 - (1 - profile.churn) ** 12 if interval == 12 else profile.churn
        if annual_gate and rng.random() < hazard:
            when = (
                _month_start(month).replace(day=min(28, customer.items["Core"].start.day))
                if interval == 12
                else when
            )
            for product in list(customer.items):
                customer.close(product, when)
            active, churned_at = False, month
            continue
        for product, item in list(customer.items.items()):
            if rng.random() < profile.expand:
                customer.change(
                    product,
                    when,
                    seats=item.seats + max(1, int(item.seats * rng.uniform(0.1, 0.4))),
                )
            elif annual_gate and rng.random() < profile.contract * (12 if interval == 12 else 1):
                customer.change(
                    product, when, seats=max(1, int(item.seats * rng.uniform(0.6, 0.9)))
                )
        if renewal and interval == 12 and rng.random() < profile.price_uplift:
            for product, item in list(customer.items.items()):
                customer.change(product, when, price=item.price * rng.uniform(1.03, 1.08))
        missing = [p for p in PRODUCTS if p not in customer.items]
        if missing and rng.random() < profile.cross_sell:
            product = str(rng.choice(missing))
            base = customer.items.get("Core")
            seats = max(1, int((base.seats if base else 5) * rng.uniform(0.2, 0.6)))
            customer.open(product, seats, _local_price(segment, product, currency), when)
        extras = [p for p in customer.items if p != "Core"]
        if extras and annual_gate and rng.random() < profile.drop:
            customer.close(str(rng.choice(extras)), when)
        if "Core" in customer.items:
            core_seats = customer.items["Core"].seats
    customer.finish()
    return customer.lines


# The demo's health-score settings (docs/health.md): the seats are Core's, and what counts as
# many tickets or a long silence depends on the segment, as in most books: an Enterprise
# account files tickets every week and meets its CSM often; an SMB one rarely does either.
DEMO_SETTINGS = """\
# nrr settings for the demo: run nrr inside this folder, or pass --config with this file.
# The health score's settings are explained in docs/health.md.
[health]
profile_by = "segment"
seat_products = ["Core"]

[health.profiles.SMB]
ticket_load = {bad = 3, good = 0}
ticket_trend = {bad = 1.5, good = 0}
days_since_touch = {bad = 120, good = 30}

[health.profiles.Mid-Market]
ticket_load = {bad = 6, good = 0.5}
days_since_touch = {bad = 60, good = 14}

[health.profiles.Enterprise]
ticket_load = {bad = 15, good = 3}
ticket_trend = {bad = 6, good = 0}
days_since_touch = {bad = 30, good = 7}
"""


def write_demo(data: DemoData, folder: str | Path) -> dict[str, Path]:
    """Write the demo as CSV, Parquet and one DuckDB file; return the paths by name."""
    folder = Path(folder)
    tables = {
        "subscriptions": data.subscriptions,
        "customers": data.customers,
        "fx_rates": data.fx_rates,
    }
    signals = ("usage", "tickets", "surveys", "touchpoints", "stakeholders")
    for name in signals:
        if getattr(data, name) is not None:
            tables[name] = getattr(data, name)
    paths: dict[str, Path] = {}
    # Each file is written beside its place and renamed onto it (nrr.outputs), so an
    # interrupted run leaves the previous demo files whole.
    for name, frame in tables.items():
        paths[f"{name}.csv"] = folder / f"{name}.csv"
        # Flags as true/false in CSV, the documented spelling (pandas would write True/False).
        flags = {c: frame[c].map({True: "true", False: "false"}) for c in frame.select_dtypes(bool)}
        with atomic_path(paths[f"{name}.csv"]) as temp:
            frame.assign(**flags).to_csv(temp, index=False)
        paths[f"{name}.parquet"] = folder / f"{name}.parquet"
        with atomic_path(paths[f"{name}.parquet"]) as temp:
            frame.to_parquet(temp, index=False)
    if data.usage is not None:
        paths["nrr.toml"] = write_text(folder / "nrr.toml", DEMO_SETTINGS)
    paths["demo.duckdb"] = folder / "demo.duckdb"
    # DuckDB makes its file itself (an empty one is not a database to it).
    with atomic_path(paths["demo.duckdb"], create=False) as temp:
        try:
            _write_duckdb(temp, tables, paths, signals)
        finally:
            temp.with_name(temp.name + ".wal").unlink(missing_ok=True)
    return paths


def _write_duckdb(
    file: Path,
    tables: dict[str, pd.DataFrame],
    paths: dict[str, Path],
    signals: tuple[str, ...],
) -> None:
    import duckdb

    with duckdb.connect(str(file)) as con:
        for name, frame in tables.items():
            if name in signals:
                # From the Parquet just written: DuckDB reads it many times faster than it
                # scans pandas' text columns, which matters for the ~640,000 usage rows.
                source = sqltext.string(str(paths[f"{name}.parquet"]))
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet({source})")
                continue
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
