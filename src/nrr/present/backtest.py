"""`nrr health backtest` for people (tables) and machines (JSON, CSV).

Money is rounded to cents and ratios to 4 places (half to even) only here, as everywhere.
Rates are fractions in JSON and CSV (0.0512) and percentages in the tables (5.12%).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nrr.present.health import TIER_STYLE
from nrr.present.machine import records_csv
from nrr.present.tables import money, percent
from nrr.records.rounding import money_number, ratio_number

if TYPE_CHECKING:
    from nrr.health.backtest import BacktestResult, Band, Catch, TierOutcome
    from nrr.health.fit import FitResult

__all__ = ["TIER_KEYS", "backtest_csv", "backtest_json", "backtest_records", "backtest_tables"]

TIER_KEYS = (
    "tier",
    "customers",
    "churned",
    "contracted",
    "expanded",
    "logo_churn",
    "starting_mrr",
    "ending_mrr",
    "fx",
    "expansion",
    "contraction",
    "churn",
    "nrr",
    "grr",
)


def _float(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(float(value), places)


def _pct(value: float | Decimal | None) -> str:
    return "n/a" if value is None else f"{float(value):.2%}"


def _tier_record(t: TierOutcome) -> dict[str, object]:
    f = t.figures
    return {
        "tier": t.tier,
        "customers": t.customers,
        "churned": t.churned,
        "contracted": t.contracted,
        "expanded": t.expanded,
        "logo_churn": ratio_number(t.logo_churn),
        "starting_mrr": money_number(f.starting_mrr),
        "ending_mrr": money_number(f.ending_mrr),
        "fx": money_number(f.fx),
        "expansion": money_number(f.expansion),
        "contraction": money_number(f.contraction),
        "churn": money_number(f.churn),
        "nrr": ratio_number(f.nrr),
        "grr": ratio_number(f.grr),
    }


def _catch_record(c: Catch) -> dict[str, object]:
    return {
        "flagged": c.flagged,
        "hits": c.hits,
        "positives": c.positives,
        "precision": _float(c.precision),
        "recall": _float(c.recall),
    }


def _band_record(b: Band) -> dict[str, object]:
    return {
        "low": b.low,
        "high": b.high,
        "customers": b.customers,
        "mean_score": _float(b.mean_score, 1),
        "churned": b.churned,
        "churn_rate": _float(b.churn_rate),
        "downturn_rate": _float(b.downturn_rate),
    }


def _fit_record(fit: FitResult) -> dict[str, object]:
    return {
        "training_days": [d.isoformat() for d in fit.training_days],
        "training_rows": fit.training_rows,
        "training_churned": fit.training_churned,
        "c": fit.c,
        "log_losses": [{"c": c, "log_loss": _float(loss)} for c, loss in fit.log_losses],
        "test_customers": fit.test_customers,
        "auc_model": _float(fit.auc_model),
        "auc_score": _float(fit.auc_score),
        "brier": _float(fit.brier),
        "intercept": _float(fit.intercept),
        "indicators": [
            {
                "name": i.name,
                "coefficient": _float(i.coefficient),
                "per_point": _float(i.per_point, 6),
                "importance": _float(i.importance),
                "importance_std": _float(i.importance_std),
                "adds_nothing": i.adds_nothing,
                "current_weight": i.current_weight,
                "suggested_weight": i.suggested_weight,
            }
            for i in fit.indicators
        ],
        "toml": fit.toml(),
    }


def backtest_records(result: BacktestResult, fit: FitResult | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "as_of": result.as_of.isoformat(),
        "horizon": result.horizon,
        "reference_month": result.reference,
        "outcome_month": result.outcome,
        "indicators": list(result.indicators),
        "tiers_at": {
            "at_risk_below": result.settings.at_risk_below,
            "healthy_from": result.settings.healthy_from,
        },
        "customers": result.cohort,
        "customers_scored": result.scored,
        "customers_unknown": result.unknown,
        "base_rate": {
            "churn": _float(result.churn_rate),
            "downturn": _float(result.downturn_rate),
        },
        "auc_churn": _float(result.auc_churn),
        "auc_downturn": _float(result.auc_downturn),
        "at_risk": {
            "churn": _catch_record(result.at_risk_churn),
            "downturn": _catch_record(result.at_risk_downturn),
        },
        "lift": ratio_number(result.lift),
        "overall": _tier_record(result.overall),
        "tiers": [_tier_record(t) for t in result.tiers],
        "calibration": [_band_record(b) for b in result.calibration],
    }
    if fit is not None:
        body["fit"] = _fit_record(fit)
    return body


def backtest_json(result: BacktestResult, fit: FitResult | None = None) -> str:
    return json.dumps(backtest_records(result, fit), indent=2)


def backtest_csv(result: BacktestResult) -> str:
    """The by-tier table: one row per tier and the cohort as `all`, with the as-of day,
    horizon and months on every row. With --fit too: the fit has no tidy rows, so the CSV is
    the same; use --format json for it."""
    context = {
        "as_of": result.as_of.isoformat(),
        "horizon": result.horizon,
        "reference_month": result.reference,
        "outcome_month": result.outcome,
    }
    rows = [{**context, **_tier_record(t)} for t in (*result.tiers, result.overall)]
    return records_csv([*context, *TIER_KEYS], rows)


def _headline(result: BacktestResult) -> Table:
    table = Table(
        title=f"Health backtest: scored as of {result.as_of} (customers active in "
        f"{result.reference}), outcome {result.horizon} months later in {result.outcome}",
        title_justify="left",
        caption=f"{result.cohort:,} customers, {result.unknown:,} without a score. Base rates: "
        f"{_pct(result.churn_rate)} churned, {_pct(result.downturn_rate)} churned or "
        "contracted.",
        caption_justify="left",
    )
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    table.add_column("", style="dim")
    auc_note = "0.5: no better than chance; 1: every one ranked below every other"
    table.add_row("AUC, churn", _number(result.auc_churn), auc_note)
    table.add_row("AUC, churn or contraction", _number(result.auc_downturn), "")
    for what, catch in (
        ("churn", result.at_risk_churn),
        ("churn or contraction", result.at_risk_downturn),
    ):
        table.add_row(
            f"At risk: precision, {what}",
            _pct(catch.precision),
            f"{catch.hits:,} of {catch.flagged:,} at-risk customers",
        )
        table.add_row(
            f"At risk: recall, {what}",
            _pct(catch.recall),
            f"{catch.hits:,} of {catch.positives:,} such customers were at risk",
        )
    lift = "n/a" if result.lift is None else f"{float(result.lift):.2f}x"
    table.add_row("At risk: lift (churned MRR)", lift, "its churned share of MRR / the book's")
    return table


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _tier_table(result: BacktestResult, unit: str) -> Table:
    table = Table(title="Retention by tier", title_justify="left")
    columns = (
        "tier",
        "customers",
        "churned",
        "logo churn",
        f"starting {unit}",
        f"ending {unit}",
        "+ fx",
        "+ expansion",
        "- contraction",
        "- churn",
        "NRR",
        "GRR",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "tier" else "right")
    for t in (*result.tiers, result.overall):
        if t.tier == "unknown" and t.customers == 0:
            continue  # every customer has a score: no row to show
        f = t.figures
        label = Text(t.tier, style=TIER_STYLE.get(t.tier, "bold"))
        table.add_row(
            label,
            f"{t.customers:,}",
            f"{t.churned:,}",
            percent(t.logo_churn),
            money(f.starting_mrr),
            money(f.ending_mrr),
            money(f.fx),
            money(f.expansion),
            money(f.contraction),
            money(f.churn),
            percent(f.nrr),
            percent(f.grr),
        )
    return table


def _calibration_table(result: BacktestResult) -> Table:
    table = Table(
        title="Calibration: churn by score band",
        title_justify="left",
        caption="Customers without a score are left out.",
        caption_justify="left",
    )
    for column in ("score", "customers", "mean score", "churned", "churn rate", "downturn rate"):
        table.add_column(column, justify="left" if column == "score" else "right")
    for b in result.calibration:
        if b.customers == 0:
            continue
        close = "]" if b.high == 100 else ")"
        table.add_row(
            f"[{b.low}, {b.high}{close}",
            f"{b.customers:,}",
            "n/a" if b.mean_score is None else f"{b.mean_score:.1f}",
            f"{b.churned:,}",
            _pct(b.churn_rate),
            _pct(b.downturn_rate),
        )
    return table


def _fit_table(fit: FitResult) -> Table:
    days = ", ".join(d.isoformat() for d in fit.training_days)
    table = Table(
        title=f"Fitted weights: logistic regression of churn on the components (C = {fit.c:g})",
        title_justify="left",
        caption=f"Trained on {fit.training_rows:,} customer snapshots ({fit.training_churned:,} "
        f"churned) as of {days}. Tested on {fit.as_of} ({fit.test_customers:,} scored "
        f"customers): AUC {_number(fit.auc_model)} for the model against "
        f"{_number(fit.auc_score)} for the configured score; Brier {fit.brier:.4f}. "
        "Importance: AUC lost when the indicator is shuffled.",
        caption_justify="left",
    )
    for column in (
        "indicator",
        "coefficient",
        "importance",
        "adds nothing",
        "weight now",
        "suggested",
    ):
        table.add_column(column, justify="left" if column == "indicator" else "right")
    for i in fit.indicators:
        table.add_row(
            i.name,
            f"{i.coefficient:+.3f}",
            f"{i.importance:.4f} ± {i.importance_std:.4f}",
            Text("yes", style="red") if i.adds_nothing else "no",
            f"{i.current_weight:g}",
            str(i.suggested_weight),
        )
    return table


def backtest_tables(
    result: BacktestResult, fit: FitResult | None = None, *, unit: str = "MRR"
) -> Group:
    """The headline (AUC, precision, recall, lift), retention by tier, calibration, then with
    a fit the per-indicator table and the suggested weights as an nrr.toml snippet."""
    parts: list[Table | Text] = [
        _headline(result),
        _tier_table(result, unit),
        _calibration_table(result),
    ]
    if fit is not None:
        parts.append(_fit_table(fit))
        parts.append(Text("Suggested nrr.toml (thresholds unchanged):", style="bold"))
        parts.append(Text(fit.toml().rstrip()))
    return Group(*parts)
