"""`nrr report`: one self-contained HTML page (and, with --png, each chart as a PNG)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from nrr.cli.common import (
    FxMode,
    Loader,
    app,
    book_command,
    check_months,
    default_end,
    stderr,
)
from nrr.outputs import write_text

__all__ = ["report"]


@contextmanager
def _status(label: str) -> Iterator[Callable[[str], None]]:
    """A status line on stderr while the report is computed (only on a terminal)."""
    console = stderr()
    if not console.is_terminal:
        yield lambda step: None
        return
    with console.status(label) as status:
        yield lambda step: status.update(f"{label}: {step}")


@app.command()
@book_command
def report(
    load: Loader,
    end: str | None = typer.Option(
        None, "--end", help="Window end month, YYYY-MM (default: the last month in the data)."
    ),
    window: int = typer.Option(12, "--window", "-w", help="Window length in months."),
    by: str | None = typer.Option(
        None,
        "--by",
        help="Slice the comparison by a customer attribute or cohort (default: segment when "
        "the customers have it, else cohort).",
    ),
    fx_mode: FxMode = typer.Option(
        FxMode.spot,
        "--fx-mode",
        help="spot (each month at its own rates) or constant (the window at its start's rates).",
    ),
    out: Path = typer.Option(
        Path("nrr-report.html"), "--out", "-o", help="The HTML file to write."
    ),
    png: Path | None = typer.Option(
        None, "--png", help="Also write each chart as a PNG into this folder (needs Chromium)."
    ),
    title: str | None = typer.Option(
        None, "--title", help="The report's title (default: Net revenue retention)."
    ),
) -> None:
    """A self-contained HTML report for a board deck: KPIs, bridge, trends, cohorts, slices."""
    from nrr.present.png import find_browser, png_outputs, write_pngs
    from nrr.present.report import render_report
    from nrr.present.views import build_views, chart_figures

    check_months(("--end", end))
    if png is not None:
        find_browser()  # fail before the work when there is no browser to draw with
    book = load(signals=True, outputs=[("--out", out), *png_outputs(png)])
    chosen = default_end(book, end)
    with _status("Computing the report") as step:
        views = build_views(
            book, end=chosen, window=window, by=by, fx_mode=fx_mode.value, progress=step
        )
        step("rendering")
        page = render_report(views, title=title)
        written = [write_text(out, page)]
        if png is not None:
            step("drawing PNGs")
            written += write_pngs(chart_figures(views), png)
    for path in written:
        sys.stdout.write(f"{path}\n")
