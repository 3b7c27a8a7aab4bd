"""`nrr methods` and `nrr rates` as records: their JSON and the rows of their DataFrames,
rounded as the CLI prints them."""

from __future__ import annotations

from nrr.analysis.methods import MethodsResult, Movements
from nrr.analysis.rates import Churn, MonthRates, RatesResult
from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks
from nrr.records.bands import benchmark_records
from nrr.records.rounding import money_number, ratio_number

__all__ = ["methods_record", "month_record", "rates_record"]


def _movements_record(m: Movements) -> dict[str, object]:
    return {
        "label": m.label,
        "customers": m.customers,
        "fx": money_number(m.fx),
        "expansion": money_number(m.expansion),
        "contraction": money_number(m.contraction),
        "churn": money_number(m.churn),
        "net": money_number(m.net),
    }


def methods_record(result: MethodsResult) -> dict[str, object]:
    return {
        "start": result.start,
        "end": result.end,
        "window_months": result.window_months,
        "currency": result.currency,
        "starting_mrr": money_number(result.starting_mrr),
        "methods": [
            {
                "method": m.key,
                "name": m.name,
                "nrr": ratio_number(m.nrr),
                "numerator": money_number(m.numerator),
                "denominator": money_number(m.denominator),
                "customers": m.customers,
                "definition": m.definition,
            }
            for m in result.methods
        ],
        "reconciliation": {
            "cohort": _movements_record(result.cohort),
            "retiming": _movements_record(result.retiming),
            "started_inside": _movements_record(result.started_inside),
            "bridge_sum": _movements_record(result.bridge),
            "up_and_down_customers": result.up_and_down,
            "comebacks": money_number(result.comebacks),
            "comeback_customers": result.comeback_customers,
            "compounding": money_number(result.compounding),
        },
        "trailing": {
            "cohort_month": result.trailing_cohort_month,
            "prior_revenue": money_number(result.prior_revenue),
            "recent_revenue": money_number(result.recent_revenue),
        },
        "monthly_nrr": [{"month": m, "nrr": ratio_number(v)} for m, v in result.monthly_nrr],
        "annual_nrr": [{"month": m, "nrr": ratio_number(v)} for m, v in result.annual_nrr],
    }


def _churn_record(c: Churn) -> dict[str, object]:
    return {
        "customers_start": c.customers_start,
        "customers_churned": c.customers_churned,
        "starting_mrr": money_number(c.starting_mrr),
        "expansion": money_number(c.expansion),
        "contraction": money_number(c.contraction),
        "churn": money_number(c.churn),
        "customer_churn_rate": ratio_number(c.customer_churn_rate),
        "gross_mrr_churn_rate": ratio_number(c.gross_mrr_churn_rate),
        "net_mrr_churn_rate": ratio_number(c.net_mrr_churn_rate),
    }


def month_record(m: MonthRates) -> dict[str, object]:
    return {
        "month": m.month,
        **_churn_record(m),
        "new": money_number(m.new),
        "reactivation": money_number(m.reactivation),
        "quick_ratio": ratio_number(m.quick_ratio),
    }


def rates_record(
    result: RatesResult, benchmarks: Benchmarks = DEFAULT_BENCHMARKS
) -> dict[str, object]:
    return {
        "start": result.start,
        "end": result.end,
        "currency": result.currency,
        "window": {
            **_churn_record(result.cohort),
            "gains": money_number(result.gains),
            "losses": money_number(result.losses),
            "quick_ratio": ratio_number(result.quick_ratio),
            "monthly_customer_churn_rate": ratio_number(result.monthly_customer_churn_rate),
        },
        "benchmarks": _rate_benchmarks(result, benchmarks),
        "months": [month_record(m) for m in result.months],
    }


def _rate_benchmarks(result: RatesResult, benchmarks: Benchmarks) -> dict[str, object]:
    quick = benchmark_records(benchmarks, {"quick_ratio": result.quick_ratio}, 1)
    churn = {"customer_churn_rate": result.monthly_customer_churn_rate}
    return {**quick, **benchmark_records(benchmarks, churn, 1)}
