"""`nrr serve`'s JSON API and pages, in process (fastapi's TestClient) over the adversarial
fixture: golden JSON, the CLI's own golden files, the segment filter, drill-down sums, errors
that name what is wrong, the token, and one real `nrr serve` process.

The golden files under tests/golden/web were written by this code and read by hand (e.g. the
SMB drill-down: bolt expanded 32.14 = 139.25 - 107.11 at 2024-06's EUR rate, golf reactivated
55.00, summing to the slice's figures in /api/metrics). Rewrite them with NRR_UPDATE_GOLDEN=1
and review the diff.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app as cli
from nrr.present.machine import window_json
from nrr.web import create_app
from nrr.web.auth import COOKIE

with warnings.catch_warnings():
    # Starlette's TestClient warns that it would rather use httpx2; httpx is what is installed.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DATA = Path(__file__).parent / "data" / "adversarial"
GOLDEN = Path(__file__).parent / "golden"
WEB_GOLDEN = GOLDEN / "web"
INPUTS = [
    "--subscriptions",
    str(DATA / "subscriptions.csv"),
    "--customers",
    str(DATA / "customers.csv"),
    "--fx-rates",
    str(DATA / "fx_rates.csv"),
]
TOKEN = "s3cret-Token_for-tests"
LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="module")
def book() -> nrr.Book:
    return nrr.load(
        DATA / "subscriptions.csv",
        customers=DATA / "customers.csv",
        fx_rates=DATA / "fx_rates.csv",
    )


@pytest.fixture(scope="module")
def client(book: nrr.Book) -> TestClient:
    return TestClient(create_app(book), base_url=LOCAL)


@pytest.fixture(scope="module")
def guarded(book: nrr.Book) -> TestClient:
    return TestClient(create_app(book, token=TOKEN), base_url="http://dashboard.example")


def get_json(client: TestClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


# --- the CLI's JSON, exactly ------------------------------------------------------------------

CLI_GOLDEN = {
    "metrics_2024-06_w12.json": "/api/metrics?end=2024-06",
    "metrics_2024-06_w12_segment.json": "/api/metrics?end=2024-06&by=segment",
    "metrics_2024-03_w3_cohort_constant.json": (
        "/api/metrics?end=2024-03&window=3&by=cohort&fx_mode=constant"
    ),
    "metrics_2024-06_w12_tenure.json": "/api/metrics?end=2024-06&by=tenure",
    "movements_2023-01_2024-06.json": "/api/movements?start=2023-01&end=2024-06",
    "movements_2023-10_2024-06_segment.json": "/api/movements?start=2023-10&end=2024-06&by=segment",
}


@pytest.mark.parametrize("name", sorted(CLI_GOLDEN))
def test_api_equals_the_cli_golden_files(client, name):
    assert get_json(client, CLI_GOLDEN[name]) == json.loads((GOLDEN / name).read_text())


def test_movements_default_start_is_the_window(client):
    # Without start, the bridge covers the window's months: end - window + 1 .. end.
    assert get_json(client, "/api/movements?end=2024-06&window=9&by=segment") == json.loads(
        (GOLDEN / "movements_2023-10_2024-06_segment.json").read_text()
    )


# --- golden JSON of the dashboard's own views -------------------------------------------------

WEB_CASES = {
    "meta.json": "/api/meta",
    "trends_segment.json": "/api/trends?end=2024-06&by=segment&windows=1,12",
    "cohorts_quarter.json": "/api/cohorts?end=2024-06&grain=quarter",
    "methods.json": "/api/methods?end=2024-06",
    "rates_w6.json": "/api/rates?end=2024-06&window=6",
    "owners_csm.json": "/api/owners?end=2024-06&am=csm",
    "metrics_filtered.json": "/api/metrics?end=2024-06&by=market&filter=segment&value=Enterprise",
    "drill_segment_smb.json": "/api/drill/segment?end=2024-06&by=segment&segment=SMB",
    "drill_segment_cohort_constant.json": (
        "/api/drill/segment?end=2024-03&window=3&by=cohort&fx_mode=constant&segment=2023-01"
    ),
    "drill_customer_bolt.json": "/api/drill/customer?customer=bolt",
    "drill_customer_golf_range.json": "/api/drill/customer?customer=golf&start=2024-02&end=2024-06",
    "lineage_filtered.json": "/api/lineage?end=2024-06&filter=segment&value=SMB",
}


def _stable(name: str, record: Any) -> Any:
    if name.startswith("lineage"):
        # Paths and the version differ between machines; the rest is the book's.
        record["nrr_version"] = "(version)"
        record["inputs"] = {k: v and Path(v).name for k, v in record["inputs"].items()}
        for row in record["rows"]:
            row["source"] = Path(row["source"]).name
    return record


@pytest.mark.parametrize("name", sorted(WEB_CASES))
def test_golden_json(client, name):
    got = _stable(name, get_json(client, WEB_CASES[name]))
    path = WEB_GOLDEN / name
    if os.environ.get("NRR_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert got == json.loads(path.read_text())


def test_segment_filter_is_book_where(client, book):
    got = get_json(client, "/api/metrics?end=2024-06&by=market&filter=segment&value=Enterprise")
    expected = book.where("segment", "Enterprise").window("2024-06", by="market")
    assert got == json.loads(window_json(expected))
    everyone = get_json(client, "/api/metrics?end=2024-06&by=segment")
    enterprise = next(s for s in everyone["segments"] if s["segment"] == "Enterprise")
    assert {k: v for k, v in enterprise.items() if k != "segment"} == got["overall"]


def test_drill_down_adds_up_to_the_slices(client):
    metrics = get_json(client, "/api/metrics?end=2024-03&window=6&by=segment&fx_mode=constant")
    for record in metrics["segments"]:
        name = record.pop("segment")
        query = httpx.QueryParams(
            end="2024-03", window=6, by="segment", fx_mode="constant", segment=name
        )
        drill = get_json(client, f"/api/drill/segment?{query}")
        assert drill["figures"] == record
        cohort = [c for c in drill["customers"] if c["in_cohort"]]
        assert len(cohort) == record["customers_start"]
        kept = [c for c in cohort if c["movement"] != "churned"]
        assert len(kept) == record["customers_retained"]
        changes = [abs(c["change"]) for c in drill["customers"]]
        assert changes == sorted(changes, reverse=True)


def test_customer_drill_adds_up_to_the_bridge(client):
    meta = get_json(client, "/api/meta")
    bridge = get_json(client, "/api/movements?start=2024-01&end=2024-06")
    ids = ["acme", "bolt", "cirrus", "delta", "echo", "foxtrot", "golf"]
    histories = [
        get_json(client, f"/api/drill/customer?customer={c}&start=2024-01&end=2024-06") for c in ids
    ]
    assert meta["months"][-1] == "2024-06"
    for i, row in enumerate(bridge):
        months = [h["months"][i] for h in histories]
        assert sum(m["active"] for m in months) == row["active_customers"]
        for key in ("new", "reactivation", "expansion", "contraction", "churn", "ending_mrr"):
            assert round(sum(m[key] for m in months), 2) == pytest.approx(row[key], abs=0.02)


def test_charts(client):
    for name in ("waterfall", "monthly_bridge", "trends", "cohorts", "segments"):
        figure = get_json(client, f"/api/charts/{name}?end=2024-06")
        assert figure["data"], name
        assert "layout" in figure
    waterfall = get_json(client, "/api/charts/waterfall?end=2024-06")
    assert "2023-06" in waterfall["layout"]["title"]["text"]


# --- errors name what is wrong ----------------------------------------------------------------

BAD = [
    ("/api/metrics?by=nope", 422, ["'nope'", "cohort", "tenure", "segment", "market", "csm"]),
    ("/api/metrics?by=segment,segment", 422, ["twice"]),
    ("/api/metrics?filter=tenure&value=new", 422, ["'tenure'", "segment", "cohort"]),
    ("/api/metrics?filter=nope&value=x", 422, ["'nope'", "segment"]),
    ("/api/metrics?filter=segment", 422, ["needs value"]),
    ("/api/metrics?value=SMB", 422, ["needs filter"]),
    ("/api/metrics?filter=segment&value=Nope", 422, ["'Nope'", "Enterprise", "SMB"]),
    ("/api/metrics?end=2030-01", 422, ["2030-01", "2023-01 to 2024-06"]),
    ("/api/metrics?end=2024-13", 422, ["end", "pattern"]),
    ("/api/metrics?end=June", 422, ["end", "pattern"]),
    ("/api/metrics?fx_mode=bogus", 422, ["fx_mode", "spot", "constant"]),
    ("/api/metrics?window=0", 422, ["window", "greater than or equal to 1"]),
    ("/api/metrics?window=121", 422, ["window", "less than or equal to 120"]),
    ("/api/movements?by=tenure", 422, ["by: tenure changes every month"]),
    ("/api/movements?start=2024-06&end=2024-01", 422, ["before"]),
    ("/api/trends?windows=0", 422, ["not a positive number"]),
    ("/api/cohorts?grain=week", 422, ["grain", "quarter"]),
    ("/api/owners?end=2024-06", 422, ["account_manager", "segment, market, csm"]),
    ("/api/owners?csm=cohort&am=csm", 422, ["cohort"]),
    ("/api/drill/segment?segment=Nope", 422, ["'Nope'", "Enterprise", "SMB"]),
    ("/api/drill/segment", 422, ["segment", "Field required"]),
    ("/api/drill/customer?customer=nobody", 404, ["no customer 'nobody'"]),
    ("/api/drill/customer?customer=golf&start=2024-06&end=2024-01", 422, ["before"]),
    ("/api/charts/pie", 422, ["waterfall", "segments"]),
    # The adversarial book has no health input: say which to give.
    ("/api/risks", 422, ["no health inputs", "--usage", "--stakeholders", "--db"]),
    ("/api/health?tier=at-risk", 422, ["no health inputs"]),
    ("/api/opportunities?as_of=2024-07-01", 422, ["no health inputs"]),
    ("/api/health?as_of=2024-02-30", 422, ["as_of", "is not a day"]),
    ("/api/risks?as_of=2024-13", 422, ["as_of", "pattern"]),
    ("/api/risks?as_of=2030-01-01", 422, ["2029-12", "2023-01 to 2024-06"]),
    ("/api/risks?limit=-1", 422, ["limit"]),
    ("/api/health?tier=bad", 422, ["'bad' is not a tier", "at-risk"]),
    ("/api/health?customer=nobody", 404, ["no customer 'nobody'"]),
    ("/api/nowhere", 404, ["Not Found"]),
]


@pytest.mark.parametrize(("url", "status", "words"), BAD)
def test_bad_requests_say_why(client, url, status, words):
    response = client.get(url)
    assert response.status_code == status, response.text
    detail = json.dumps(response.json()["detail"])
    for word in words:
        assert word in detail, (word, detail)


def test_error_pages_escape_what_they_echo(client):
    response = client.get("/", params={"filter": "segment", "value": "<script>alert(1)</script>"})
    assert response.status_code == 422
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)" in response.text
    missing = client.get("/drill/customer", params={"customer": '"><img src=x onerror=1>'})
    assert missing.status_code == 404
    assert "<img src=x" not in missing.text


# --- pages ------------------------------------------------------------------------------------


def test_dashboard_page(client):
    response = client.get("/?end=2024-06")
    assert response.status_code == 200
    page = response.text
    for control in ("end", "window", "by", "fx-mode", "filter", "value"):
        assert f'id="{control}"' in page
    overall = get_json(client, "/api/metrics?end=2024-06")["overall"]
    assert f'data-kpi="nrr" data-value="{overall["nrr"]}"' in page
    assert '<script src="/static/plotly.min.js"></script>' in page
    for name in ("waterfall", "monthly_bridge", "trends", "cohorts", "segments"):
        assert f'data-chart="{name}"' in page
    # Each slice links to its drill-down, with the page's own parameters.
    assert 'href="/drill/segment?end=2024-06&amp;window=12&amp;by=segment' in page
    assert "segment=SMB" in page
    # Nothing from anywhere but this server.
    assert 'src="http' not in page and 'href="http' not in page


def test_filtered_dashboard_page(client):
    page = client.get("/?end=2024-06&filter=segment&value=SMB").text
    overall = get_json(client, "/api/metrics?end=2024-06&filter=segment&value=SMB")["overall"]
    assert f'data-kpi="nrr" data-value="{overall["nrr"]}"' in page
    assert "counts only the customers with segment = “SMB”" in page
    assert '<option value="SMB" selected>' in page


def test_drill_pages(client):
    page = client.get("/drill/segment?end=2024-06&by=segment&segment=SMB").text
    assert 'href="/drill/customer?customer=bolt&amp;end=2024-06"' in page
    assert 'data-customer="golf"' in page
    assert "139.25" in page and "32.94" in page
    customer = client.get("/drill/customer?customer=bolt&end=2024-06").text
    assert 'data-figure id="customer-mrr"' in customer
    assert 'data-month="2023-09"' in customer and "churn" in customer
    assert "<th>market</th><td>EMEA</td>" in customer


def test_docs_and_static_work_offline(client):
    docs = client.get("/docs").text
    assert "/api/drill/segment" in docs and "/api/metrics" in docs
    assert 'src="http' not in docs and 'href="http' not in docs
    spec = get_json(client, "/openapi.json")
    paths = set(spec["paths"])
    for path in (
        "/api/meta",
        "/api/metrics",
        "/api/movements",
        "/api/trends",
        "/api/cohorts",
        "/api/methods",
        "/api/rates",
        "/api/owners",
        "/api/charts/{name}",
        "/api/lineage",
        "/api/drill/segment",
        "/api/drill/customer",
        "/api/health",
        "/api/risks",
        "/api/opportunities",
    ):
        assert path in paths
        assert set(spec["paths"][path]) == {"get"}  # read-only
    params = {p["name"]: p for p in spec["paths"]["/api/metrics"]["get"]["parameters"]}
    assert params["window"]["schema"]["maximum"] == 120
    assert params["end"]["schema"]["anyOf"][0]["pattern"].startswith("^[0-9]{4}")
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000
    for name in ("dashboard.css", "dashboard.js", "report.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/secrets.txt").status_code == 404


# --- health: the CLI's JSON, on a small demo with every health input ---------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nrr.datasets.demo import generate_demo, write_demo

    folder = tmp_path_factory.mktemp("demo")
    return write_demo(generate_demo(customers=150), folder)["demo.duckdb"]


@pytest.fixture(scope="module")
def health_client(demo_db: Path) -> TestClient:
    # As `nrr serve --db demo.duckdb`: the health inputs are the file's tables of those names.
    return TestClient(create_app(nrr.load(db=demo_db)), base_url=LOCAL)


def cli_json(demo_db: Path, *args: str) -> Any:
    run = CliRunner().invoke(cli, [*args, "--db", str(demo_db), "--format", "json"])
    assert run.exit_code == 0, run.output
    return json.loads(run.stdout)


def test_health_endpoints_are_the_clis_json(health_client, demo_db):
    # The default day is the day after the data's last month, as the commands' default.
    health = get_json(health_client, "/api/health")
    assert health == cli_json(demo_db, "health")
    assert health["as_of"] == "2026-01-01" and health["customers"]
    risks = cli_json(demo_db, "risks")
    assert get_json(health_client, "/api/risks?limit=0") == risks
    assert risks["risks"], "the demo should have someone at risk"
    found = cli_json(demo_db, "opportunities")
    assert get_json(health_client, "/api/opportunities?limit=0") == found
    # limit cuts the list only: the count and total stay those of every row.
    assert len(found["opportunities"]) > 3
    assert get_json(health_client, "/api/opportunities?limit=3") == {
        **found,
        "opportunities": found["opportunities"][:3],
    }
    assert get_json(health_client, "/api/risks") == {**risks, "risks": risks["risks"][:50]}


def test_health_endpoints_take_the_clis_options(health_client, demo_db):
    earlier = cli_json(demo_db, "health", "--as-of", "2025-09-15", "--tier", "at-risk")
    assert earlier["as_of"] == "2025-09-15" and earlier["reference_month"] == "2025-08"
    got = get_json(health_client, "/api/health?as_of=2025-09-15&tier=at_risk")
    assert got == earlier and earlier["customers"]
    one = get_json(health_client, "/api/risks?as_of=2025-09-15&limit=0")
    assert one == cli_json(demo_db, "risks", "--as-of", "2025-09-15")
    customer = one["risks"][0]["customer_id"]
    record = get_json(health_client, f"/api/health?as_of=2025-09&customer={customer}")
    assert record == cli_json(demo_db, "health", "--as-of", "2025-09", "--customer", customer)
    assert [c["customer_id"] for c in record["customers"]] == [customer]


def test_dashboard_health_section_links_each_customer(health_client):
    page = health_client.get("/?end=2025-12").text
    first = get_json(health_client, "/api/risks?as_of=2026-01-01&limit=1")["risks"][0]
    customer = first["customer_id"]
    assert f'<tr data-risk="{customer}"><td><a href="/drill/customer?customer={customer}' in page
    assert f"{first['mrr_at_risk']:,.2f}" in page
    found = get_json(health_client, "/api/opportunities?as_of=2026-01-01&limit=1")
    top = found["opportunities"][0]["customer_id"]
    assert f'<tr data-opportunity="{top}"><td><a href="/drill/customer?customer={top}' in page
    assert health_client.get(f"/drill/customer?customer={customer}&end=2025-12").status_code == 200


# --- read-only, token, Host -------------------------------------------------------------------


def test_read_only(client):
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        response = client.request(method, "/api/meta")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"
    head = client.head("/api/meta")
    assert head.status_code == 200 and head.content == b""
    assert client.get("/api/meta").headers["x-frame-options"] == "DENY"


def test_without_a_token_only_loopback_hosts(client):
    assert client.get("/api/meta", headers={"host": "localhost:8765"}).status_code == 200
    assert client.get("/api/meta", headers={"host": "[::1]:8765"}).status_code == 200
    evil = client.get("/api/meta", headers={"host": "attacker.example"})
    assert evil.status_code == 400 and "loopback" in evil.json()["detail"]


def test_token_required_everywhere(guarded):
    for path in ("/", "/api/meta", "/docs", "/openapi.json", "/static/dashboard.js"):
        response = guarded.get(path)
        assert response.status_code == 401, path
        assert "token" in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = guarded.get("/api/meta", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    near = guarded.get("/api/meta", headers={"authorization": f"Bearer {TOKEN[:-1]}"})
    assert near.status_code == 401
    right = guarded.get("/api/meta", headers={"authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    assert guarded.get(f"/api/meta?token={TOKEN}").status_code == 200
    assert guarded.get("/?token=nope").status_code == 401
    # POST is refused whatever the token.
    assert guarded.post("/api/meta", headers={"authorization": f"Bearer {TOKEN}"}).status_code == (
        405
    )


def test_token_in_a_page_url_becomes_a_cookie(book):
    browser = TestClient(create_app(book, token=TOKEN), base_url="http://dashboard.example")
    response = browser.get(f"/?end=2024-06&token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/?end=2024-06"  # the token leaves the URL
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert TOKEN not in cookie  # the cookie holds an HMAC of the token
    assert browser.get("/api/meta").status_code == 200
    assert browser.get("/static/dashboard.css").status_code == 200
    # The redirect stays on this site whatever the path looks like.
    odd = browser.get(
        f"http://dashboard.example//evil.example/?token={TOKEN}", follow_redirects=False
    )
    assert odd.status_code == 303 and odd.headers["location"] == "/evil.example/"
    browser.cookies.clear()
    browser.cookies.set(COOKIE, "forged")
    assert browser.get("/api/meta").status_code == 401


# --- the command ------------------------------------------------------------------------------


def test_serve_refuses_a_public_host_without_a_token(monkeypatch):
    monkeypatch.delenv("NRR_TOKEN", raising=False)
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        result = CliRunner().invoke(cli, ["serve", *INPUTS, "--host", host])
        assert result.exit_code == 2, result.output
        assert "--token" in result.stderr and "NRR_TOKEN" in result.stderr


def test_serve_says_when_the_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", *INPUTS, "--port", str(port)])
    assert result.exit_code == 2
    assert f"port {port}" in result.stderr and "--port" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_as_a_process(tmp_path):
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    env = {k: v for k, v in os.environ.items() if k != "NRR_TOKEN"}
    process = subprocess.Popen(
        [sys.executable, "-m", "nrr.cli", "serve", *INPUTS, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/meta", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None and response.status_code == 200
        assert response.json()["currency"] == "USD"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
        assert page.status_code == 200 and 'data-kpi="nrr"' in page.text
        # Requests at once share one DuckDB connection behind a lock: each gets its own answer.
        urls = [
            f"http://127.0.0.1:{port}{path}"
            for path in (
                "/api/metrics?end=2024-06&by=segment",
                "/api/metrics?end=2024-03&window=3&by=cohort&fx_mode=constant",
                "/api/movements?start=2023-10&end=2024-06&by=segment",
                "/api/drill/customer?customer=bolt",
                "/api/metrics?end=2024-06&by=tenure",
                "/api/drill/segment?end=2024-06&by=segment&segment=SMB",
            )
        ]
        with ThreadPoolExecutor(len(urls)) as pool:
            answers = list(pool.map(lambda url: httpx.get(url, timeout=60), urls))
        assert [a.status_code for a in answers] == [200] * len(urls)
        golden = [
            "metrics_2024-06_w12_segment.json",
            "metrics_2024-03_w3_cohort_constant.json",
            "movements_2023-10_2024-06_segment.json",
        ]
        for answer, name in zip(answers, golden, strict=False):
            assert answer.json() == json.loads((GOLDEN / name).read_text())
        bolt = json.loads((WEB_GOLDEN / "drill_customer_bolt.json").read_text())
        assert answers[3].json() == bolt
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
    assert f"http://127.0.0.1:{port}/" in (tmp_path / "serve.log").read_text()
