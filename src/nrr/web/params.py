"""The query parameters of the dashboard's routes, typed so the OpenAPI spec documents them.

The types check the form (a month is `YYYY-MM`, a window 1 to 120 months, fx mode one of two
words); `Service.params` then checks the content against the book (attribute names against
its attributes, filter values against its values, months against its months).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Path, Query

from nrr.web.service import MAX_WINDOW

__all__ = [
    "AM",
    "CSM",
    "MONTH_PATTERN",
    "By",
    "ByOrNone",
    "ChartName",
    "ChartPath",
    "CustomerId",
    "End",
    "Filter",
    "FxMode",
    "FxModeParam",
    "Grain",
    "GrainParam",
    "Segment",
    "Since",
    "Start",
    "Value",
    "Window",
    "Windows",
]

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
# Attribute names and values are user data of any spelling; only their length is bounded here,
# and they are then looked up in the book's own lists.
_NAME_LIMIT = 200
_VALUE_LIMIT = 500


class FxMode(StrEnum):
    spot = "spot"
    constant = "constant"


class Grain(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"


class ChartName(StrEnum):
    waterfall = "waterfall"
    monthly_bridge = "monthly_bridge"
    trends = "trends"
    cohorts = "cohorts"
    segments = "segments"


End = Annotated[
    str | None,
    Query(
        pattern=MONTH_PATTERN,
        description="Window end month, YYYY-MM, one of the months in the data "
        "(default: the last month in the data; /api/meta lists them).",
        examples=["2024-06"],
    ),
]
Start = Annotated[
    str | None,
    Query(
        pattern=MONTH_PATTERN,
        description="First month, YYYY-MM, one of the months in the data.",
    ),
]
Since = Annotated[
    str | None,
    Query(
        pattern=MONTH_PATTERN,
        description="Show cohorts from the period holding this month, YYYY-MM.",
    ),
]
Window = Annotated[
    int,
    Query(ge=1, le=MAX_WINDOW, description=f"Window length in months, 1 to {MAX_WINDOW}."),
]
_BY = (
    "Slice by an attribute: a customers column, cohort or tenure, or two joined by a comma "
    "(segment,market); /api/meta lists the attributes."
)
By = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=_NAME_LIMIT,
        description=f"{_BY} Default: segment when the customers have it, else cohort (as the "
        "dashboard page).",
        examples=["segment"],
    ),
]
ByOrNone = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=_NAME_LIMIT,
        description=f"{_BY} Default: no slices, the whole book only (as the command without --by).",
        examples=["segment"],
    ),
]
FxModeParam = Annotated[
    FxMode,
    Query(
        description="spot: each end at its own month's rates, movements at the start's and "
        "the revaluation of the end shown as fx; "
        "constant: the window at its start month's rates."
    ),
]
Filter = Annotated[
    str | None,
    Query(
        max_length=_NAME_LIMIT,
        description="Segment filter: restrict every figure to the customers whose attribute "
        "`filter` is `value` (a customers column or cohort). Empty means no filter.",
        examples=["segment"],
    ),
]
Value = Annotated[
    str | None,
    Query(
        max_length=_VALUE_LIMIT,
        description="The value of the segment filter's attribute (/api/meta lists them).",
        examples=["SMB"],
    ),
]
Segment = Annotated[
    str,
    Query(
        max_length=_VALUE_LIMIT,
        description="The slice to drill into: a value of `by` (a name in the slices of "
        "/api/metrics with the same by).",
        examples=["SMB"],
    ),
]
CustomerId = Annotated[
    str,
    Query(max_length=_VALUE_LIMIT, description="The customer's id.", examples=["acme"]),
]
Windows = Annotated[
    str,
    Query(
        pattern=r"^[0-9]{1,3}(,[0-9]{1,3}){0,5}$",
        description="Window lengths in months, separated by commas (at most six, each 1 to "
        f"{MAX_WINDOW}).",
    ),
]
GrainParam = Annotated[Grain, Query(description="Cohorts and ages by month, quarter or year.")]
CSM = Annotated[
    str,
    Query(max_length=_NAME_LIMIT, description="The customers column naming each CSM."),
]
AM = Annotated[
    str,
    Query(max_length=_NAME_LIMIT, description="The customers column naming each account manager."),
]
ChartPath = Annotated[ChartName, Path(description="The chart's name.")]
