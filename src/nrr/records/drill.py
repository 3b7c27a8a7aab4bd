"""The drill-down's JSON: a slice's customers and one customer's months, in cents."""

from __future__ import annotations

from dataclasses import fields

from nrr.analysis.drill import SliceCustomers
from nrr.analysis.history import CustomerHistory
from nrr.records.rounding import money_number, ratio_number
from nrr.records.window import figures_record

__all__ = ["history_record", "slice_record"]


def slice_record(result: SliceCustomers) -> dict[str, object]:
    """JSON-ready: the window, the slice's figures and one record per customer (cents)."""
    return {
        "start": result.start,
        "end": result.end,
        "window_months": result.window_months,
        "currency": result.currency,
        "fx_mode": result.fx_mode,
        "by": result.by,
        "value": result.value,
        "figures": figures_record(result.figures),
        "customers": [
            {
                "customer_id": c.customer_id,
                "cohort": c.cohort,
                "in_cohort": c.in_cohort,
                "starting_mrr": money_number(c.starting_mrr),
                "ending_at_start_rates": money_number(c.ending_at_start_rates),
                "fx": money_number(c.fx),
                "ending_mrr": money_number(c.ending_mrr),
                "movement": c.movement,
                "amount": money_number(c.amount),
                "change": money_number(c.change),
                "nrr": ratio_number(c.ending_mrr / c.starting_mrr if c.in_cohort else None),
            }
            for c in result.customers
        ],
    }


def history_record(result: CustomerHistory) -> dict[str, object]:
    """JSON-ready: the customer, its attributes and lines, and one record per month (cents)."""
    return {
        "customer_id": result.customer_id,
        "currency": result.currency,
        "start": result.start,
        "end": result.end,
        "cohort": result.cohort,
        "attributes": dict(result.attributes),
        "lines": [
            {
                "product": line.product,
                "currency": line.currency,
                "start_date": line.start_date,
                "end_date": line.end_date,
                # Local MRR keeps its 8 decimals: it is the input's amount over its interval.
                "mrr_local": float(line.mrr_local),
                "quantity": None if line.quantity is None else float(line.quantity),
            }
            for line in result.lines
        ],
        "months": [
            {
                "month": m.month,
                **{
                    f.name: money_number(getattr(m, f.name)) for f in fields(m) if f.name != "month"
                },
                "active": m.active,
                "movement": m.movement,
            }
            for m in result.months
        ],
    }
