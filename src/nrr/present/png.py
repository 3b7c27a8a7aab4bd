"""Charts as PNG files: kaleido drawing with the system's Chrome or Chromium, never a
downloaded one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import plotly.graph_objects as go

from nrr.errors import InputError, Problem

__all__ = ["find_browser", "write_pngs"]

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


def write_pngs(figures: Mapping[str, go.Figure], folder: str | Path) -> list[Path]:
    """Write each figure as `folder/NAME.png`, all in one browser session; return the paths
    in the figures' order."""
    import kaleido

    browser = find_browser()
    # choreographer reads BROWSER_PATH when it looks for a browser; never let it look further.
    os.environ.setdefault("BROWSER_PATH", browser)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    jobs = []
    paths = []
    for name, fig in figures.items():
        path = target / f"{name}.png"
        jobs.append(
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
        )
        paths.append(path)
    # mathjax=False: kaleido would otherwise load MathJax from a CDN; plotly.js comes from
    # the installed plotly package.
    options = {"path": browser, "mathjax": False}
    # kaleido returns a chart's error instead of raising it, and on a busy machine a chart
    # can miss its time limit: those are drawn once more, and still missing is an error.
    kaleido.write_fig_from_object_sync(jobs, kopts=options)
    missing = [job for job in jobs if not job["path"].is_file()]
    if missing:
        errors = kaleido.write_fig_from_object_sync(missing, kopts=options) or ()
        still = [job["path"].name for job in missing if not job["path"].is_file()]
        if still:
            why = next((str(e).strip().splitlines()[0] for e in errors if str(e).strip()), "")
            raise InputError(
                Problem(
                    source="--png",
                    message=f"Chromium did not draw {', '.join(still)} (twice)"
                    + (f": {why}" if why else "")
                    + "; try again on a less busy machine",
                )
            )
    return paths
