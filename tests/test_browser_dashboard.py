"""The dashboard in a real browser: it loads, a filter changes what it shows, and the numbers
on screen are the API's (the risks too: the demo has health inputs); drill-down goes from a
slice to its customers to one customer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import nrr
from nrr.datasets.demo import generate_demo, write_demo
from nrr.web import create_app
from tests.browser import screenshot, serving

END = "2025-12"  # the demo's last month


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    paths = write_demo(generate_demo(customers=150), tmp_path_factory.mktemp("demo"))
    signals = ("usage", "tickets", "surveys", "touchpoints", "stakeholders")
    book = nrr.load(
        paths["subscriptions.csv"],
        customers=paths["customers.csv"],
        fx_rates=paths["fx_rates.csv"],
        **{name: paths[f"{name}.csv"] for name in signals},
    )
    with serving(create_app(book)) as url:
        yield url


@pytest.fixture
def page(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    context.close()
    assert problems == [], problems


def api(base: str, path: str, **params: object) -> Any:
    response = httpx.get(f"{base}/api/{path}", params=params, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def ready(page: Any) -> None:
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)


def shown_kpis(page: Any) -> dict[str, tuple[float | None, str]]:
    shown: dict[str, tuple[float | None, str]] = {}
    for kpi in page.query_selector_all("[data-kpi]"):
        raw = kpi.get_attribute("data-value")
        shown[kpi.get_attribute("data-kpi")] = (
            None if raw == "null" else float(raw),
            kpi.inner_text(),
        )
    return shown


def assert_kpis_equal(page: Any, overall: dict[str, Any]) -> None:
    shown = shown_kpis(page)
    for name in ("nrr", "grr", "logo_retention"):
        if overall[name] is None:  # an empty cohort has no retention
            assert shown[name][0] is None, name
            continue
        assert shown[name] == (overall[name], f"{overall[name] * 100:.2f}%"), name
    for name in ("starting_mrr", "ending_mrr", "expansion", "contraction", "churn"):
        assert shown[name][0] == overall[name], name
        assert shown[name][1].replace(",", "") == f"{overall[name]:.2f}", name


def money(text: str) -> float:
    return float(text.replace(",", "").replace("−", "-"))


def select_and_wait(page: Any, selector: str, value: str) -> None:
    with page.expect_navigation():
        page.select_option(selector, value)
    ready(page)


def test_filters_change_the_numbers_to_the_apis(page, dashboard):
    page.goto(f"{dashboard}/?end={END}")
    ready(page)
    assert page.input_value("#by") == "segment"
    metrics = api(dashboard, "metrics", end=END, window=12, by="segment")
    assert_kpis_equal(page, metrics["overall"])
    # Each slice row shows the API's slice NRR.
    for segment in metrics["segments"]:
        row = page.query_selector(f'tr[data-segment="{segment["segment"]}"]')
        assert row is not None, segment["segment"]
        if segment["nrr"] is not None:
            assert f"{segment['nrr'] * 100:.2f}%" in row.inner_text()
    # The health section's first risk is /api/risks' first row, as of the day after END.
    first = api(dashboard, "risks", as_of="2026-01-01", limit=1)["risks"][0]
    cells = page.query_selector_all("#nrr-health tr[data-risk] td")[:5]
    change = "new" if first["change"] is None else f"{first['change']:+.1f}"
    assert [c.inner_text() for c in cells] == [
        first["customer_id"],
        f"{first['mrr_at_risk']:,.2f}",
        f"{first['score']:.1f}",
        change,
        first["owner"] or "",
    ]
    assert page.query_selector("#nrr-health tr[data-risk] a") is not None  # to /drill/customer
    screenshot(page, "dashboard")

    select_and_wait(page, "#window", "3")
    assert "window=3" in page.url
    assert_kpis_equal(page, api(dashboard, "metrics", end=END, window=3)["overall"])

    select_and_wait(page, "#fx-mode", "constant")
    constant = api(dashboard, "metrics", end=END, window=3, fx_mode="constant")["overall"]
    assert_kpis_equal(page, constant)

    # The segment filter: every figure then counts only that segment's customers.
    select_and_wait(page, "#filter", "segment")
    value = page.input_value("#value")
    filtered = api(
        dashboard,
        "metrics",
        end=END,
        window=3,
        fx_mode="constant",
        filter="segment",
        value=value,
    )
    assert_kpis_equal(page, filtered["overall"])
    whole = api(dashboard, "metrics", end=END, window=3, fx_mode="constant", by="segment")
    mine = next(s for s in whole["segments"] if s["segment"] == value)
    assert filtered["overall"]["starting_mrr"] == mine["starting_mrr"]
    screenshot(page, "dashboard-filtered")


def test_drill_down_from_a_slice_to_a_customer(page, dashboard):
    page.goto(f"{dashboard}/?end={END}&by=segment")
    ready(page)
    with page.expect_navigation():
        page.click('tr[data-segment="Enterprise"] a')
    totals = api(dashboard, "drill/segment", end=END, by="segment", segment="Enterprise")
    table = page.inner_text("#slice-totals")
    for key in ("starting_mrr", "expansion", "contraction", "churn", "ending_mrr"):
        assert f"{totals['figures'][key]:,.2f}" in table, key
    rows = page.query_selector_all("#slice-customers tbody tr[data-customer]")
    assert [r.get_attribute("data-customer") for r in rows] == [
        c["customer_id"] for c in totals["customers"]
    ]
    screenshot(page, "drill-segment")

    first = totals["customers"][0]["customer_id"]
    with page.expect_navigation():
        page.click(f'tr[data-customer="{first}"] a')
    ready(page)
    page.wait_for_selector('.chart[data-chart="customer_mrr"] .main-svg')
    history = api(dashboard, "drill/customer", customer=first, end=END)
    for month in history["months"]:
        row = page.query_selector(f'#customer-months tr[data-month="{month["month"]}"]')
        assert row is not None, month["month"]
        ending = row.query_selector_all("td")[-1].inner_text()
        assert money(ending) == month["ending_mrr"], month["month"]
    screenshot(page, "drill-customer")
