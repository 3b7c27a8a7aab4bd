"""The HTML report in a real browser: it opens from disk with no network request and no
console error, draws every chart, shows the library's numbers, and prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import nrr
from nrr.datasets.demo import generate_demo, write_demo
from nrr.present.machine import window_json
from nrr.present.report import render_report
from nrr.present.views import build_views
from tests.browser import screenshot

CHARTS = ("waterfall", "monthly_bridge", "trends", "cohorts", "segments")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("demo")
    paths = write_demo(generate_demo(customers=300), folder)
    book = nrr.load(
        paths["subscriptions.csv"],
        customers=paths["customers.csv"],
        fx_rates=paths["fx_rates.csv"],
    )
    views = build_views(book)
    path = folder / "report.html"
    path.write_text(render_report(views), encoding="utf-8")
    return path, views


def test_report_opens_offline_and_draws_every_chart(browser, report):
    path, views = report
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else 0)
    page.on("pageerror", lambda error: problems.append(str(error)))
    # Anything but the file itself is a request the report should not make: refuse it, so a
    # stray CDN link fails here even on a machine that is online.
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page.goto(path.as_uri(), wait_until="load")
    for name in CHARTS:
        page.wait_for_selector(f'.chart[data-chart="{name}"] .main-svg', timeout=15_000)
    screenshot(page, "report")
    assert [url for url in requests if url != path.as_uri()] == []
    assert problems == []

    # The numbers on the page are the library's, as `nrr metrics --format json` gives them.
    expected = json.loads(window_json(views.window_result))["overall"]
    shown = {
        kpi.get_attribute("data-kpi"): (kpi.get_attribute("data-value"), kpi.inner_text())
        for kpi in page.query_selector_all("[data-kpi]")
    }
    for name in ("nrr", "grr", "logo_retention"):
        raw, text = shown[name]
        assert float(raw) == expected[name]
        assert text == f"{expected[name] * 100:.2f}%"
    for name in ("starting_mrr", "ending_mrr", "expansion", "contraction", "churn"):
        raw, text = shown[name]
        assert float(raw) == expected[name]
        assert text.replace(",", "") == f"{expected[name]:.2f}"
    context.close()


def test_report_prints(browser, report, tmp_path):
    path, _ = report
    page = browser.new_page()
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_selector('.chart[data-chart="cohorts"] .main-svg', timeout=15_000)
    page.emulate_media(media="print")
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    # A report of this many sections spans several pages rather than one clipped page.
    assert (
        data.count(b"/Type /Page\n") + data.count(b"/Type /Page>") + data.count(b"/Type/Page") >= 3
    )
    page.close()
