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
    check_months,
    default_end,
    show,
)
from nrr.cli.core import EndOpt, FxModeOpt, WindowOpt

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

    check_months(("--end", end))
    book = load()
    result = compute(
        book,
        end=default_end(book, end),
        window=window,
        by=by,
        fx_mode=fx_mode.value,
        detail=detail,
    )
    show(
        book,
        output,
        result,
        table=causes_tables,
        json_text=causes_json,
        csv_text=causes_csv,
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

    check_months(("--end", end))
    book = load()
    result = compute(
        book, end=default_end(book, end), window=window, csm=csm, am=am, fx_mode=fx_mode.value
    )
    show(
        book,
        output,
        result,
        table=owners_tables,
        json_text=owners_json,
        csv_text=owners_csv,
        arr=arr,
    )
