"""Cohort matrices as records: the JSON (cohorts with their ages) and the long format (one
record per cohort and age) behind the CSV and the DataFrame."""

from __future__ import annotations

from nrr.analysis.cohorts import CohortAge, CohortResult
from nrr.records.rounding import money_number, ratio_number

__all__ = ["CSV_KEYS", "cohort_record", "cohort_records"]

CSV_KEYS = (
    "cohort",
    "customers",
    "first_month_mrr",
    "age",
    "month",
    "mrr",
    "active",
    "revenue_retention",
    "logo_retention",
)


def _age_record(age: CohortAge) -> dict[str, object]:
    return {
        "age": age.age,
        "month": age.month,
        "mrr": money_number(age.mrr),
        "active": age.active,
        "revenue_retention": ratio_number(age.revenue_retention),
        "logo_retention": ratio_number(age.logo_retention),
    }


def cohort_record(result: CohortResult) -> dict[str, object]:
    """The JSON: the context, then each cohort with its ages."""
    return {
        "end": result.end,
        "grain": result.grain,
        "currency": result.currency,
        "cohorts": [
            {
                "cohort": c.cohort,
                "customers": c.customers,
                "first_month_mrr": money_number(c.first_month_mrr),
                "ages": [_age_record(a) for a in c.ages],
            }
            for c in result.cohorts
        ],
    }


def cohort_records(result: CohortResult) -> list[dict[str, object]]:
    """Long format: one record per cohort and age."""
    return [
        {
            "cohort": c.cohort,
            "customers": c.customers,
            "first_month_mrr": money_number(c.first_month_mrr),
            **_age_record(a),
        }
        for c in result.cohorts
        for a in c.ages
    ]
