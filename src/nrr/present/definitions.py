"""The definitions the report and the dashboard show: term, formula, plain meaning.

They restate docs/metrics.md (the metric contract, METRICS.md) and docs/analysis.md in a
reader's words; `doc` names the page that defines each term in full. Nothing here computes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFINITIONS", "Definition", "definition"]


@dataclass(frozen=True)
class Definition:
    key: str
    term: str
    formula: str
    meaning: str
    doc: str  # the page (and section) that defines it, relative to the repository root


DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        "nrr",
        "Net revenue retention (NRR)",
        "ending MRR / starting MRR = (starting + fx + expansion - contraction - churn) / starting",
        "The revenue the customers at the window's start pay at its end, growth included, as "
        "a share of what they paid at the start. Above 100% the base grows without any new "
        "customer.",
        "docs/metrics.md#retention-over-a-window-nrr-metrics",
    ),
    Definition(
        "grr",
        "Gross revenue retention (GRR)",
        "(starting MRR - contraction - churn) / starting MRR",
        "The share of starting revenue kept, ignoring growth: the floor under NRR. Never above "
        "100%.",
        "docs/metrics.md#retention-over-a-window-nrr-metrics",
    ),
    Definition(
        "logo_retention",
        "Logo retention",
        "customers of C active in e / customers in C",
        "The share of customers kept, whatever they pay.",
        "docs/metrics.md#retention-over-a-window-nrr-metrics",
    ),
    Definition(
        "cohort",
        "Window and cohort",
        "start s = end e - k months; cohort C = customers active (MRR > 0) in s",
        "Retention over a window follows the same customers from the start month to the end "
        "month. Customers who arrive later never count in it.",
        "docs/metrics.md#retention-over-a-window-nrr-metrics",
    ),
    Definition(
        "starting_mrr",
        "Starting MRR",
        "sum over C of MRR(s), at s's rates",
        "What the cohort paid a month at the start of the window.",
        "docs/metrics.md#retention-over-a-window-nrr-metrics",
    ),
    Definition(
        "ending_mrr",
        "Ending MRR",
        "sum over C of MRR(e), at e's rates",
        "What the same customers pay at the end of the window.",
        "docs/metrics.md#retention-over-a-window-nrr-metrics",
    ),
    Definition(
        "expansion",
        "Expansion",
        "sum over C still active in e of max(MRR(e) - MRR(s), 0), both at s's rates",
        "Growth from customers who pay more at the end than at the start: seats, price "
        "and cross-sell, netted per customer over the window.",
        "docs/metrics.md#retention-over-a-window-nrr-metrics",
    ),
    Definition(
        "contraction",
        "Contraction",
        "sum over C still active in e of max(MRR(s) - MRR(e), 0), both at s's rates",
        "MRR lost from customers who stayed but pay less (downgrades, fewer seats).",
        "docs/metrics.md#retention-over-a-window-nrr-metrics",
    ),
    Definition(
        "churn",
        "Churn",
        "sum over C with no MRR in e of MRR(s), at s's rates",
        "MRR lost from customers who left.",
        "docs/metrics.md#retention-over-a-window-nrr-metrics",
    ),
    Definition(
        "fx",
        "FX revaluation",
        "sum over C of MRR(e) at e's rates - MRR(e) at s's rates",
        "The exchange-rate effect: the cohort's ending MRR revalued from the start's rates to "
        "the end's; never counted as a movement, which is in constant currency at the start's "
        "rates. It is 0 with one currency and in constant-currency mode.",
        "docs/metrics.md#spot-and-constant-currency---fx-mode",
    ),
    Definition(
        "new_reactivation",
        "New and reactivation MRR",
        "MRR(e) of customers outside C: never active before s (new) or active before (returned)",
        "Revenue from customers outside the cohort. It grows the business but is not retention, "
        "so it is in no ratio above.",
        "docs/metrics.md#retention-over-a-window-nrr-metrics",
    ),
    Definition(
        "mrr",
        "MRR",
        "sum of amount / interval months of the lines in service on the last day of the month",
        "Monthly recurring revenue, measured at each month-end in the base currency. One-time "
        "charges, taxes and usage overages are never in it.",
        "docs/metrics.md#month-end-snapshots",
    ),
    Definition(
        "bridge",
        "Monthly MRR bridge",
        "ending = starting + fx + new + reactivation + expansion - contraction - churn",
        "Each month's change in MRR, customer by customer: every customer's change is counted "
        "once, as exactly one movement. It adds up to the cent every month.",
        "docs/metrics.md#the-monthly-mrr-bridge-nrr-movements",
    ),
    Definition(
        "quick_ratio",
        "Quick ratio",
        "(new + reactivation + expansion) / (contraction + churn), summed over the bridge's months",
        "MRR added for every unit of MRR lost. Four or more is the usual mark of efficient growth.",
        "docs/analysis.md#nrr-rates-churn-rates-and-the-quick-ratio",
    ),
    Definition(
        "revenue_retention",
        "Cohort revenue retention",
        "members' MRR at age a / their MRR in their own first month",
        "For customers who started in the same month, how their revenue developed month by "
        "month since; returning customers stay in their first cohort.",
        "docs/trends-and-cohorts.md#definitions",
    ),
    Definition(
        "methods",
        "NRR methods",
        "cohort, bridge-sum, compounded, trailing revenue, average of 12",
        "Other ways vendors and filings compute NRR for the same window. The cohort method is "
        "the one used everywhere else in this report; the gaps to the others are reconciled.",
        "docs/analysis.md#nrr-methods-five-ways-to-compute-nrr-reconciled",
    ),
    Definition(
        "owners",
        "Owners",
        "the slice --by csm (retention) and --by account_manager (expansion)",
        "Each customer counts wholly for the CSM and account manager named in the customers "
        "input today; the rows add up to the whole book.",
        "docs/causes-and-owners.md#owners",
    ),
)


def definition(key: str) -> Definition:
    return next(d for d in DEFINITIONS if d.key == key)
