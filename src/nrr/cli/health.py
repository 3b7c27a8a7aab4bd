"""`nrr health` (every customer's score), `nrr risks` and `nrr opportunities`.

`nrr health backtest` lives in cli/backtest.py, on the `health` group defined here.
"""

from __future__ import annotations

import sys

import typer

from nrr.cli.common import Format, FormatOpt, Loader, app, book_command, show

__all__ = ["health_app"]

health_app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
    help="Customer health scores from the health inputs (docs/health.md); "
    "`nrr health backtest` checks them against what happened next.",
)
app.add_typer(health_app, name="health")

AsOfOpt = typer.Option(
    None,
    "--as-of",
    help="Score as of this day, YYYY-MM-DD or YYYY-MM (its first day), using only data "
    "before it (default: the day after the last month in the data).",
)
LimitOpt = typer.Option(
    25, "--limit", "-n", help="Rows in the table (JSON and CSV give every row); 0 for all."
)


def _note_day(as_of: str | None, day: object, reference: str) -> None:
    if as_of is None:
        sys.stderr.write(f"note: scoring as of {day} (customers active in {reference})\n")


@health_app.callback()
@book_command
def health(
    load: Loader,
    ctx: typer.Context,
    as_of: str | None = AsOfOpt,
    customer: str | None = typer.Option(
        None, "--customer", help="Show one customer's components, values and weights."
    ),
    tier: str | None = typer.Option(
        None, "--tier", help="Only this tier: healthy, neutral, at-risk or unknown."
    ),
    limit: int = LimitOpt,
    output: Format = FormatOpt,
) -> None:
    """Every customer's health score (0-100), tier, change since last month, components
    and reasons, as of a day."""
    if ctx.invoked_subcommand is not None:
        return
    from nrr.health.results import health_scores, parse_day
    from nrr.present.health import health_csv, health_json, health_tables, pick_tier

    if as_of is not None:
        parse_day(as_of)
    wanted = pick_tier(tier)
    book = load(signals=True)
    result = health_scores(book, as_of)
    _note_day(as_of, result.as_of, result.reference)
    show(
        book,
        output,
        result,
        table=lambda r, unit: health_tables(r, customer=customer, tier=wanted, limit=limit),
        json_text=lambda r: health_json(r, customer=customer, tier=wanted),
        csv_text=lambda r: health_csv(r, customer=customer, tier=wanted),
    )


@app.command()
@book_command
def risks(
    load: Loader,
    as_of: str | None = AsOfOpt,
    owner: str = typer.Option(
        "csm", "--owner", help="The customers column naming who acts on a risk."
    ),
    limit: int = LimitOpt,
    output: Format = FormatOpt,
) -> None:
    """At-risk customers ranked by MRR at risk, with the reasons and their owner."""
    from nrr.health.results import health_scores, parse_day, risks
    from nrr.present.health import risks_csv, risks_json, risks_table

    if as_of is not None:
        parse_day(as_of)
    book = load(signals=True)
    result = health_scores(book, as_of)
    _note_day(as_of, result.as_of, result.reference)
    rows = risks(result, owner=_owner_column(book, owner))
    show(
        book,
        output,
        rows,
        table=lambda r, unit: risks_table(result, r, limit=limit),
        json_text=lambda r: risks_json(result, r),
        csv_text=risks_csv,
    )


@app.command()
@book_command
def opportunities(
    load: Loader,
    as_of: str | None = AsOfOpt,
    owner: str = typer.Option(
        "account_manager", "--owner", help="The customers column naming who acts on it."
    ),
    limit: int = LimitOpt,
    output: Format = FormatOpt,
) -> None:
    """Expansion signals (seats near the limit, usage growth, new users active), ranked by
    potential MRR."""
    from nrr.health.results import health_scores, opportunities, parse_day
    from nrr.present.health import opportunities_csv, opportunities_json, opportunities_table

    if as_of is not None:
        parse_day(as_of)
    book = load(signals=True)
    result = health_scores(book, as_of)
    _note_day(as_of, result.as_of, result.reference)
    rows = opportunities(result, owner=_owner_column(book, owner))
    show(
        book,
        output,
        rows,
        table=lambda r, unit: opportunities_table(result, r, limit=limit),
        json_text=lambda r: opportunities_json(result, r),
        csv_text=opportunities_csv,
    )


def _owner_column(book: object, owner: str) -> str:
    """The owner column, checked against the customers input (missing: no owner shown)."""
    from nrr.errors import InputError, Problem

    names = getattr(book, "attributes", [])
    column = owner.strip().lower()
    if column not in names and column not in ("csm", "account_manager"):
        raise InputError(
            Problem(
                source="--owner",
                message=f"{owner!r} is not a customers column; use one of "
                f"{', '.join(n for n in names if n not in ('cohort', 'tenure')) or '(none)'}",
            )
        )
    return column
