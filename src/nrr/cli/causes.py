"""`nrr causes` (expansion and contraction by cause) and `nrr owners` (per CSM and per
account manager); definitions in docs/causes-and-owners.md."""

from __future__ import annotations

import typer

from nrr.cli.common import (
    ArrOpt,
    ByOpt,
    Format,
    FormatOpt,
    FxMode,
    Loader,
    app,
    book_command,
    default_end,
    show,
)
from nrr.cli.core import EndOpt, FxModeOpt, WindowOpt
from nrr.months import parse_month
from nrr.results import in_arr

__all__ = ["causes", "owners"]


@app.command()
@book_command
def causes(
    load: Loader,
    end: str | None = EndOpt,
    window: int = WindowOpt,
    by: str | None = ByOpt,
    fx_mode: FxMode = FxModeOpt,
    detail: bool = typer.Option(
        False,
        "--detail",
        help="Also list customer x product rows: the largest in the table, all in JSON/CSV "
        "(CSV then holds only those rows).",
    ),
    output: Format = FormatOpt,
    arr: bool = ArrOpt,
) -> None:
    """Expansion and contraction by cause: seats, price, cross-sell, dropped products."""
    from nrr.analysis.causes import causes as compute
    from nrr.present.causes import causes_csv, causes_json, causes_tables

    if end is not None:
        parse_month(end, what="--end")
    book = load()
    result = compute(
        book,
        end=default_end(book, end),
        window=window,
        by=by,
        fx_mode=fx_mode.value,
        detail=detail,
    )
    if arr:
        result = in_arr(result)
    show(
        book,
        output,
        table=lambda: causes_tables(result, unit="ARR" if arr else "MRR"),
        json_text=lambda: causes_json(result),
        csv_text=lambda: causes_csv(result),
        arr=arr,
    )


@app.command()
@book_command
def owners(
    load: Loader,
    end: str | None = EndOpt,
    window: int = WindowOpt,
    csm: str = typer.Option("csm", "--csm", help="Customers column naming each customer's CSM."),
    am: str = typer.Option(
        "account_manager",
        "--am",
        help="Customers column naming each customer's account manager.",
    ),
    fx_mode: FxMode = FxModeOpt,
    output: Format = FormatOpt,
    arr: bool = ArrOpt,
) -> None:
    """Per CSM: book, GRR, churn, contraction. Per account manager: book, expansion by cause."""
    from nrr.analysis.owners import owners as compute
    from nrr.present.causes import owners_csv, owners_json, owners_tables

    if end is not None:
        parse_month(end, what="--end")
    book = load()
    result = compute(
        book, end=default_end(book, end), window=window, csm=csm, am=am, fx_mode=fx_mode.value
    )
    if arr:
        result = in_arr(result)
    show(
        book,
        output,
        table=lambda: owners_tables(result, unit="ARR" if arr else "MRR"),
        json_text=lambda: owners_json(result),
        csv_text=lambda: owners_csv(result),
        arr=arr,
    )
