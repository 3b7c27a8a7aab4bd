"""Cohort matrices for people (two tables) and machines (JSON, long CSV)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nrr.analysis.cohorts import CohortAge, CohortResult
from nrr.present.machine import records_csv
from nrr.present.tables import money, percent
from nrr.records.cohorts import CSV_KEYS, cohort_record, cohort_records

__all__ = ["MAX_AGES_SHOWN", "cohort_csv", "cohort_json", "cohort_tables"]

# A terminal fits about this many age columns next to the cohort, customers and base; JSON and
# CSV always carry every age.
MAX_AGES_SHOWN = 13
_AGE_PREFIX = {"month": "M", "quarter": "Q", "year": "Y"}


def cohort_json(result: CohortResult) -> str:
    return json.dumps(cohort_record(result), indent=2)


def cohort_csv(result: CohortResult) -> str:
    return records_csv(list(CSV_KEYS), cohort_records(result))


def _matrix(
    result: CohortResult,
    title: str,
    value: Callable[[CohortAge], Decimal | None],
    shown: int,
    unit: str,
) -> Table:
    prefix = _AGE_PREFIX[result.grain]
    caption = (
        f"{prefix}0 = the end of the signup {result.grain}, {prefix}1 the end of the next one, ..."
    )
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("cohort")
    table.add_column("customers", justify="right")
    table.add_column(f"first-month {unit}", justify="right")
    for age in range(shown):
        table.add_column(f"{prefix}{age}", justify="right")
    for c in result.cohorts:
        cells = [percent(value(a)) for a in c.ages[:shown]]
        cells += [""] * (shown - len(cells))
        table.add_row(c.cohort, str(c.customers), money(c.first_month_mrr), *cells)
    return table


def cohort_tables(result: CohortResult, unit: str = "MRR") -> Group | Text:
    """Revenue retention, then logo retention: one row per cohort, one column per age."""
    if not result.cohorts:
        return Text(f"No cohort has a full signup {result.grain} by {result.end}.")
    longest = max(len(c.ages) for c in result.cohorts)
    shown = min(longest, MAX_AGES_SHOWN)
    parts: list[Table | Text] = [
        _matrix(
            result,
            f"Revenue retention by signup {result.grain} ({unit} / first-month {unit}, "
            f"{result.currency} at spot rates)",
            lambda a: a.revenue_retention,
            shown,
            unit,
        ),
        _matrix(
            result,
            f"Logo retention by signup {result.grain} (customers active / customers)",
            lambda a: a.logo_retention,
            shown,
            unit,
        ),
    ]
    if longest > shown:
        parts.append(
            Text(
                f"Ages {shown} to {longest - 1} are not shown here; --format json or csv "
                "has them all.",
                style="dim",
            )
        )
    return Group(*parts)
