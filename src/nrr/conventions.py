"""The choices that move the numbers when a billing system's data becomes MRR.

Named in every output they affect (METRICS.md: "the other is named in the output").
"""

from __future__ import annotations

from dataclasses import dataclass

from nrr.errors import InputError, Problem
from nrr.limits import MAX_DAYS, check_count, check_months_count

__all__ = ["CHURN_AT", "DEFAULT_GRACE_DAYS", "Conventions"]

CHURN_AT = ("period_end", "cancel")
# Baremetrics' default, and inside the 1-90 day range ChartMogul offers: long enough for
# most card retries to recover, short enough that a lost customer is not carried for months.
DEFAULT_GRACE_DAYS = 30


@dataclass(frozen=True)
class Conventions:
    """How cancellations, unpaid subscriptions and returning customers are counted.

    - `churn_at`: `period_end` (default) keeps a cancelled subscription's MRR until the paid
      period ends; `cancel` removes it on the day the customer cancelled.
    - `grace_days`: a past-due or unpaid subscription keeps its MRR this many days after its
      unpaid period began, then churns.
    - `reactivation_window`: `None` (default) counts any return after a gap as reactivation;
      `N` counts a return after more than N months without MRR as new.
    """

    churn_at: str = "period_end"
    grace_days: int = DEFAULT_GRACE_DAYS
    reactivation_window: int | None = None

    def __post_init__(self) -> None:
        if self.churn_at not in CHURN_AT:
            raise InputError(
                Problem(
                    source="--churn-at",
                    message=f"{self.churn_at!r} is not one of {', '.join(CHURN_AT)}",
                )
            )
        check_count(self.grace_days, flag="--grace-days", low=0, high=MAX_DAYS, unit="days")
        if self.reactivation_window is not None:
            check_months_count(self.reactivation_window, flag="--reactivation-window")

    def describe(self) -> str:
        churn = (
            "churn at the end of the paid period"
            if self.churn_at == "period_end"
            else "churn on the cancellation date"
        )
        window = (
            "any return after a gap is a reactivation"
            if self.reactivation_window is None
            else f"a return after more than {self.reactivation_window} months away is new"
        )
        return f"{churn}; past-due/unpaid churn after {self.grace_days} days; {window}"

    def as_dict(self) -> dict[str, object]:
        return {
            "churn_at": self.churn_at,
            "grace_days": self.grace_days,
            "reactivation_window": self.reactivation_window,
        }
