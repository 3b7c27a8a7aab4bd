"""Charts as PNG files: kaleido drawing with the system's Chrome or Chromium, never a
downloaded one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

import plotly.graph_objects as go

from nrr.errors import InputError, Problem
from nrr.outputs import atomic_path

__all__ = ["find_browser", "png_outputs", "write_pngs"]

SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
PNG_WIDTH = 1100
PNG_SCALE = 2


def find_browser() -> str:
    """The Chrome or Chromium kaleido drives: $BROWSER_PATH, else the system Chromium, else
    one on PATH. Never downloads one: a missing browser is an InputError saying what to
    install."""
    from choreographer.browsers.chromium import Chromium

    given = os.environ.get("BROWSER_PATH")
    if given:
        if Path(given).is_file() and os.access(given, os.X_OK):
            return given
        raise InputError(
            Problem(
                source="BROWSER_PATH",
                message=f"{given!r} is not a Chrome or Chromium executable; install chromium "
                "(apt-get install chromium) or point BROWSER_PATH at one",
            )
        )
    if SYSTEM_CHROMIUM.is_file() and os.access(SYSTEM_CHROMIUM, os.X_OK):
        return str(SYSTEM_CHROMIUM)
    found = Chromium.find_browser(skip_local=True)
    if found:
        return found
    raise InputError(
        Problem(
            source="--png",
            message="charts are drawn as PNG by Chrome or Chromium, and none was found; "
            "install chromium (apt-get install chromium, brew install --cask chromium) or set "
            "BROWSER_PATH to a Chrome executable",
        )
    )


def png_path(folder: str | Path, name: str) -> Path:
    return Path(folder) / f"{name}.png"


def png_outputs(folder: str | Path | None) -> list[tuple[str, Path]]:
    """The files `write_pngs` writes into `folder` for the report's charts, each with the
    option that names it (for `nrr.outputs.refuse_overwriting_inputs`); none without one."""
    from nrr.present.views import CHARTS

    return [] if folder is None else [("--png", png_path(folder, name)) for name in CHARTS]


def write_pngs(figures: Mapping[str, go.Figure], folder: str | Path) -> list[Path]:
    """Write each figure as `folder/NAME.png`, all in one browser session; return the paths
    in the figures' order. The files are replaced only once every chart is drawn
    (`nrr.outputs.atomic_path`): a failure leaves the previous PNGs as they were."""
    paths = [png_path(folder, name) for name in figures]
    with ExitStack() as stack:
        final = {stack.enter_context(atomic_path(path)): path for path in paths}
        missing, why = _draw(dict(zip(final, figures.values(), strict=True)))
        if missing:
            raise InputError(
                Problem(
                    source="--png",
                    message=f"Chromium did not draw {', '.join(final[t].name for t in missing)}"
                    + " (twice)"
                    + (f": {why}" if why else "")
                    + "; try again on a less busy machine",
                )
            )
    return paths


def _draw(figures: Mapping[Path, go.Figure]) -> tuple[list[Path], str]:
    """Draw each figure into its path; return the paths still not drawn after a second try,
    and the first error kaleido gave."""
    import kaleido

    browser = find_browser()
    # choreographer reads BROWSER_PATH when it looks for a browser; never let it look further.
    os.environ.setdefault("BROWSER_PATH", browser)
    jobs = [
        {
            "fig": fig,
            "path": path,
            "opts": {
                "format": "png",
                "width": PNG_WIDTH,
                "height": int(fig.layout.height or 420),
                "scale": PNG_SCALE,
            },
        }
        for path, fig in figures.items()
    ]
    # mathjax=False: kaleido would otherwise load MathJax from a CDN; plotly.js comes from
    # the installed plotly package.
    options = {"path": browser, "mathjax": False}
    # kaleido returns a chart's error instead of raising it, and on a busy machine a chart
    # can miss its time limit: those are drawn once more, and still missing is an error.
    # A chart not drawn is an empty file (the temporary file, or the name kaleido claims).
    kaleido.write_fig_from_object_sync(jobs, kopts=options)
    missing = [job for job in jobs if not _drawn(job["path"])]
    if not missing:
        return [], ""
    errors = kaleido.write_fig_from_object_sync(missing, kopts=options) or ()
    why = next((str(e).strip().splitlines()[0] for e in errors if str(e).strip()), "")
    return [job["path"] for job in missing if not _drawn(job["path"])], why


def _drawn(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0
