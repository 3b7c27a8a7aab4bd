"""`nrr report`: the self-contained page, its numbers, its sections, its safety, the CLI.

The views are computed once per module (tests/data/adversarial, end 2024-06, and a small demo
with health inputs for the risks and opportunities); one end-to-end test runs the CLI on a
small demo, with --png when a browser is there.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs
from typer.testing import CliRunner

import nrr
from nrr.benchmarks import DEFAULT_BENCHMARKS, Band, Benchmark
from nrr.cli import app
from nrr.datasets.demo import generate_demo
from nrr.health.results import opportunities as expanding
from nrr.health.results import risks as at_risk
from nrr.months import month_label
from nrr.present.charts import CONFIG
from nrr.present.machine import window_json
from nrr.present.png import write_pngs
from nrr.present.report import KPIS, render_report, render_sections
from nrr.present.views import (
    CHARTS,
    HEALTH_TOP,
    Views,
    build_views,
    chart_figures,
    default_by,
    health_view,
)
from nrr.records.methods import methods_record, rates_record
from tests.conftest import SUB_HEADER, sub, write_csv

DATA = Path(__file__).parent / "data" / "adversarial"
INPUTS = [
    "-s",
    str(DATA / "subscriptions.csv"),
    "-c",
    str(DATA / "customers.csv"),
    "--fx-rates",
    str(DATA / "fx_rates.csv"),
]
SECTIONS = (
    "kpis",
    "waterfall",
    "monthly",
    "trends",
    "cohorts",
    "segments",
    "owners",
    "health",
    "methods",
    "definitions",
    "lineage",
)
HOSTILE = "<script>alert(1)</script>"
BROWSER = Path("/usr/bin/chromium").is_file() or bool(os.environ.get("BROWSER_PATH"))
needs_browser = pytest.mark.skipif(
    not BROWSER and os.environ.get("NRR_REQUIRE_BROWSER") != "1",
    reason="no Chromium at /usr/bin/chromium (CI sets NRR_REQUIRE_BROWSER=1)",
)
runner = CliRunner()


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each `kpi-value` span."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.kpis: dict[str, tuple[str, str]] = {}
        self._kpi: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag == "span" and found.get("class") == "kpi-value":
            self._kpi = (found["data-kpi"] or "", found["data-value"] or "")

    def handle_data(self, data: str) -> None:
        if self._kpi is not None:
            name, raw = self._kpi
            self.kpis[name] = (raw, data)
            self._kpi = None


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def book() -> nrr.Book:
    return nrr.load(
        DATA / "subscriptions.csv",
        customers=DATA / "customers.csv",
        fx_rates=DATA / "fx_rates.csv",
    )


@pytest.fixture(scope="module")
def views(book: nrr.Book) -> Views:
    return build_views(book, end="2024-06")


@pytest.fixture(scope="module")
def page(views: Views) -> str:
    return render_report(views)


def test_views_hold_what_the_library_computes(book: nrr.Book, views: Views) -> None:
    assert (views.end, views.window, views.by, views.fx_mode) == ("2024-06", 12, "segment", "spot")
    assert views.window_result == book.window("2024-06", window=12, by="segment")
    assert [r.month for r in views.bridge] == [f"2023-{m:02d}" for m in range(7, 13)] + [
        f"2024-{m:02d}" for m in range(1, 7)
    ]
    assert views.trends.end == "2024-06" and 12 in views.trends.windows
    assert views.owners is None  # the adversarial customers have csm but no account_manager


def test_defaults_end_and_by(book: nrr.Book) -> None:
    steps: list[str] = []
    views = build_views(book, progress=steps.append)
    assert views.end == month_label(book.latest_month())  # type: ignore[arg-type]
    assert views.by == "segment"
    assert steps and "owners" not in steps


def test_plotly_inline_exactly_once_and_nothing_fetched(page: str) -> None:
    bundle = get_plotlyjs()
    assert page.count(bundle) == 1
    assert page.index(bundle) < page.index("</head>")
    tags = parse(page).tags
    assert not [t for t, a in tags if t == "script" and a.get("src")]
    assert not [t for t, _ in tags if t in ("link", "iframe", "img")]
    for _, attributes in tags:
        for name in ("src", "href"):
            value = attributes.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value), (name, value)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", page)
    assert "@import" not in page and "@font-face" not in page
    assert page.count("Plotly.newPlot(") == len(CHARTS)


def test_every_section_and_chart_once(page: str) -> None:
    tags = parse(page).tags
    ids = [a.get("id") for t, a in tags if t == "section"]
    assert ids == [f"nrr-{name}" for name in SECTIONS]
    charts = [a.get("data-chart") for t, a in tags if a.get("class") == "chart"]
    assert charts == list(CHARTS)
    assert '"displaylogo": false' in page


def test_kpis_equal_the_json_of_the_same_window(book: nrr.Book, views: Views, page: str) -> None:
    kpis = parse(page).kpis
    assert set(kpis) == set(KPIS)
    overall = json.loads(window_json(book.window("2024-06", window=12, by="segment")))["overall"]
    quick = rates_record(book.churn_rates("2024-06", window=12))["window"]["quick_ratio"]  # type: ignore[index]
    for name, (raw, text) in kpis.items():
        expected = quick if name == "quick_ratio" else overall[name]
        assert json.loads(raw) == expected, name
        if name == "quick_ratio":
            assert text == "n/a" if expected is None else text == f"{Decimal(raw):.2f}x"
        elif name in ("nrr", "grr", "logo_retention"):
            assert text == f"{Decimal(raw) * 100:.2f}%"
        else:
            assert text == f"{Decimal(raw):,.2f}"
    # The fixture's actual figures (tests/golden/metrics_2024-06_w12.json).
    assert kpis["starting_mrr"][0] == "597.49"


def test_charts_name_the_currency_use_percent_axes_and_hover_cents(views: Views) -> None:
    figures = chart_figures(views)
    assert list(figures) == list(CHARTS)
    assert CONFIG["displaylogo"] is False
    assert "(USD)" in figures["waterfall"].layout.yaxis.title.text
    assert "(USD)" in figures["monthly_bridge"].layout.yaxis.title.text
    assert figures["trends"].layout.yaxis.tickformat == ".0%"
    assert figures["segments"].layout.xaxis.tickformat == ".0%"
    f = views.window_result.overall
    hover = [row[0] for row in figures["waterfall"].data[0].customdata]
    assert hover[0] == f"USD {f.starting_mrr.quantize(Decimal('0.01')):,.2f}"
    assert hover[-1] == f"USD {f.ending_mrr.quantize(Decimal('0.01')):,.2f}"
    # The floating bars add up: each movement starts where the previous one ended.
    bars = figures["waterfall"].data[0]
    assert bars.y[-1] == float(f.ending_mrr.quantize(Decimal("0.01")))
    months = figures["monthly_bridge"].data[0].x
    assert list(months) == [r.month for r in views.bridge]


def test_sections_are_a_fragment_the_dashboard_can_embed(views: Views) -> None:
    part = render_sections(views, drill=lambda attribute, value: f"/s?{attribute}={value}")
    assert "<html" not in part and "<head" not in part and get_plotlyjs()[:200] not in part
    tags = parse(part).tags
    rows = [a["data-segment"] for t, a in tags if t == "tr" and "data-segment" in a]
    assert rows == [name for name, _ in views.window_result.segments]
    links = [a["href"] for t, a in tags if t == "a" and (a.get("href") or "").startswith("/s?")]
    assert links == [f"/s?segment={name}" for name in rows]
    assert part.count("Plotly.newPlot(") == len(CHARTS)


def test_segment_rows_and_methods_show_the_library_numbers(views: Views, page: str) -> None:
    for name, figures in views.window_result.segments:
        assert f'data-segment="{name}"' in page
        assert f"{figures.ending_mrr.quantize(Decimal('0.01')):,.2f}" in page
    for method in methods_record(views.methods)["methods"]:  # type: ignore[union-attr]
        row = re.search(rf'<tr data-method="{method["method"]}">(.*?)</tr>', page, re.S)
        assert row is not None
        nrr_value = method["nrr"]
        shown = "n/a" if nrr_value is None else f"{Decimal(str(nrr_value)) * 100:.2f}%"
        assert shown in row.group(1)


def test_bands_and_their_sources_are_shown(page: str) -> None:
    assert 'class="nrr-footnotes"' in page
    for metric in ("nrr", "grr", "logo_retention", "quick_ratio"):
        assert f'data-footnote="{metric}"' in page
    assert "ChartMogul" in page


def test_health_says_when_it_appears_and_owners_what_they_need(views: Views, page: str) -> None:
    # The adversarial book has no health input: the section keeps its one line.
    assert views.health is None
    health = re.search(r'id="nrr-health">(.*?)</section>', page, re.S)
    assert health is not None and "once customer health inputs are given" in health.group(1)
    assert "data-risk" not in health.group(1) and "<table" not in health.group(1)
    owners = re.search(r'id="nrr-owners">(.*?)</section>', page, re.S)
    assert owners is not None and "csm and account_manager" in owners.group(1)


# --- risks and opportunities (a small demo with every health input) -------------------------

SIGNALS = ("usage", "tickets", "surveys", "touchpoints", "stakeholders")


@pytest.fixture(scope="module")
def health_views() -> Views:
    data = generate_demo(customers=150)
    book = nrr.load(
        data.subscriptions,
        customers=data.customers,
        fx_rates=data.fx_rates,
        **{name: getattr(data, name) for name in SIGNALS},
    )
    return build_views(book)


def section(html: str, name: str) -> str:
    found = re.search(rf'id="nrr-{name}">(.*?)</section>', html, re.S)
    assert found is not None, name
    return found.group(1)


def cells(html: str, attribute: str) -> list[tuple[str, list[str]]]:
    """Each `<tr data-<attribute>="id">` row: the id and its cells' text, tags removed."""
    rows = re.findall(rf'<tr data-{attribute}="([^"]*)">(.*?)</tr>', html, re.S)
    return [
        (key, [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)])
        for key, body in rows
    ]


def test_health_shows_the_tiers_and_the_top_risks_and_opportunities(health_views: Views) -> None:
    book = health_views.book
    as_of = date(2026, 1, 1)  # the day after the demo's last month, 2025-12
    assert health_views.end == "2025-12" and health_views.health is not None
    assert health_views.health.as_of == as_of
    part = render_sections(health_views)
    health = section(part, "health")
    assert "health as of 2026-01-01, customers active in 2025-12" in health
    # book.risks(day) and book.opportunities(day) of one scoring (each would score again).
    result = book.health("2026-01-01")
    tiers = result.tiers()
    assert [key for key, _ in cells(health, "tier")] == list(tiers["tier"])
    for (_, shown), row in zip(cells(health, "tier"), tiers.to_dict("records"), strict=True):
        assert shown[1:3] == [f"{row['customers']:,}", f"{row['mrr']:,.2f}"]
    risks = at_risk(result)
    shown_risks = cells(health, "risk")
    assert [key for key, _ in shown_risks] == [r.customer_id for r in risks[:HEALTH_TOP]]
    for (_, shown), r in zip(shown_risks, risks, strict=False):
        change = "new" if r.change is None else f"{r.change:+.1f}"
        assert shown == [
            r.customer_id,
            f"{r.mrr_at_risk:,.2f}",
            f"{r.score:.1f}",
            change,
            r.owner or "",
            "; ".join(r.reasons),
        ]
    total = sum((r.mrr_at_risk for r in risks), Decimal(0))
    assert f"{len(risks)} customer" in health and f"{total:,.2f} USD of MRR" in health
    found = expanding(result)
    assert len(found) > HEALTH_TOP  # so the table is the top rows, not all of them
    shown_found = cells(health, "opportunity")
    assert [key for key, _ in shown_found] == [o.customer_id for o in found[:HEALTH_TOP]]
    for (_, shown), o in zip(shown_found, found, strict=False):
        assert shown == [
            o.customer_id,
            f"{o.potential_mrr:,.2f}",
            f"+{o.extra_seats}",
            f"{o.mrr:,.2f}",
            f"{o.score:.1f}",
            o.owner or "",
            "; ".join(o.signals),
        ]
    potential = sum((o.potential_mrr for o in found), Decimal(0))
    assert f"{len(found)} customers with expansion signals, {potential:,.2f} USD" in health
    # The report has no server: no links; the section prints on its own page as the others.
    assert "<a " not in health
    assert '<section class="nrr-section" id="nrr-health">' in part


def test_health_escapes_customer_ids_and_links_them_when_asked(health_views: Views) -> None:
    health = health_views.health
    assert health is not None and health.risks and health.opportunities
    hostile = replace(
        health,
        risks=[replace(health.risks[0], customer_id=HOSTILE, owner=HOSTILE, reasons=(HOSTILE,))],
        opportunities=[replace(health.opportunities[0], customer_id=HOSTILE, signals=(HOSTILE,))],
    )
    views = replace(health_views, health=hostile)
    part = render_sections(views, customer=lambda c: f"/drill/customer?customer={c}")
    assert HOSTILE not in part
    # Escaped in each place: the rows' data attributes, the links, the ids, owner, reason, signal.
    assert section(part, "health").count("&lt;script&gt;alert(1)&lt;/script&gt;") == 9
    hrefs = [a["href"] for t, a in parse(section(part, "health")).tags if t == "a"]
    assert hrefs == [f"/drill/customer?customer={HOSTILE}"] * 2  # attributes, escaped in HTML


def test_health_without_anyone_to_score_says_so(health_views: Views) -> None:
    empty = health_view(health_views.book, "1999-12")
    assert empty.result is None and "no customer has MRR in 1999-12" in (empty.problem or "")
    health = section(render_sections(replace(health_views, health=empty)), "health")
    assert "No health scores as of 2000-01-01: no customer has MRR in 1999-12" in health


def test_lineage_options_and_rows(views: Views, page: str) -> None:
    lineage = re.search(r'id="nrr-lineage">(.*?)</section>', page, re.S)
    assert lineage is not None
    text = lineage.group(1)
    assert "end 2024-06, window 12 months, by segment, fx mode spot" in text
    assert "subscriptions.csv" in text and "fx_rates.csv" in text
    assert f"nrr {nrr.present.lineage.nrr_version()}" in text
    read = re.findall(r'data-rows="read">([\d,]+)<', text)
    assert read == ["16", "6"]


def test_quarantined_rows_are_counted_in_the_lineage(tmp_path: Path) -> None:
    rows = [
        sub("a", "2023-01-01", None, 100),
        sub("b", "2023-01-01", "2023-08-01", 50),
        sub("c", "2023-03-01", None, "not a number"),
        sub("d", "2023-05-01", None, 80),
    ]
    path = write_csv(tmp_path / "subs.csv", SUB_HEADER, rows)
    book = nrr.load(path, on_invalid="quarantine")
    page = render_report(build_views(book, end="2023-12", window=6))
    row = re.search(r'<tr data-source="subs.csv">(.*?)</tr>', page, re.S)
    assert row is not None
    cells = dict(re.findall(r'data-rows="(\w+)">([\d,]+)<', row.group(1)))
    assert cells == {"read": "4", "used": "3", "rejected": "1"}
    assert "quarantine" in page
    assert default_by(book) == "cohort"  # no customers: the slices are signup cohorts


def test_hostile_names_are_escaped_everywhere(tmp_path: Path) -> None:
    rows = [sub("a", "2023-01-01", None, 100), sub("b", "2023-01-01", "2023-09-01", 40)]
    subs = write_csv(tmp_path / f"{'x'}.csv", SUB_HEADER, rows)
    customers = write_csv(
        tmp_path / "customers.csv",
        ["customer_id", "segment", "csm", "account_manager"],
        [["a", HOSTILE, HOSTILE, '"><img src=x onerror=alert(2)>'], ["b", "plain", "x", "y"]],
    )
    book = nrr.load(subs, customers=customers)
    views = build_views(book, end="2023-12")
    page = render_report(views, title=HOSTILE)
    assert HOSTILE not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    part = render_sections(views, drill=lambda a, v: f"/drill?value={v}")
    assert HOSTILE not in part
    hrefs = [a["href"] for t, a in parse(part).tags if t == "a"]
    assert "/drill?value=<script>alert(1)</script>" in hrefs  # an attribute, escaped in HTML
    assert views.owners is not None and "Per CSM" in page


def test_a_teams_own_bands_show_up(tmp_path: Path) -> None:
    ours = Benchmark(
        "nrr",
        "NRR",
        (
            Band(Decimal("-1e9"), "below our plan", "bad"),
            Band(Decimal("1.05"), "on our plan", "good"),
        ),
        "Our board's targets, 2026",
        window_months=12,
    )
    path = write_csv(
        tmp_path / "s.csv",
        SUB_HEADER,
        [sub("a", "2023-01-01", None, 100), sub("b", "2023-01-01", "2023-09-01", 40)],
    )
    book = nrr.load(path, benchmarks=DEFAULT_BENCHMARKS.replace(ours))
    page = render_sections(build_views(book, end="2023-12", window=6))
    assert "Our board&#39;s targets, 2026" in page
    # A 6-month window is not what 12-month bands measure: said plainly, no band claimed.
    assert "bands are for 12-month windows" in page


def test_cli_report_on_the_demo_with_pngs(tmp_path: Path) -> None:
    from nrr.datasets.demo import generate_demo, write_demo

    paths = write_demo(generate_demo(customers=300), tmp_path / "demo")
    out = tmp_path / "out" / "report.html"
    args = [
        "report",
        "-s",
        str(paths["subscriptions.csv"]),
        "-c",
        str(paths["customers.csv"]),
        "--fx-rates",
        str(paths["fx_rates.csv"]),
        "--usage",
        str(paths["usage.csv"]),
        "--out",
        str(out),
        "--title",
        "Acme board, Q4",
    ]
    png = tmp_path / "png"
    with_png = BROWSER or os.environ.get("NRR_REQUIRE_BROWSER") == "1"
    if with_png:
        args += ["--png", str(png)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert str(out) in result.stdout.splitlines()
    assert "Acme board, Q4" in page
    assert "Per account manager" in page  # the demo's customers have csm and account_manager
    # A health input given to the command reaches the section.
    assert "Top risks" in page and "(usage)" in section(page, "health")
    kpis = parse(page).kpis
    assert kpis["nrr"][1].endswith("%") and kpis["quick_ratio"][1].endswith("x")
    if with_png:
        for name in CHARTS:
            data = (png / f"{name}.png").read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            assert len(data) > 20_000
            assert str(png / f"{name}.png") in result.stdout


@needs_browser
def test_pngs_of_every_chart(views: Views, tmp_path: Path) -> None:
    written = write_pngs(chart_figures(views), tmp_path / "charts")
    assert [p.name for p in written] == [f"{name}.png" for name in CHARTS]
    for path in written:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width == 2200 and height >= 600  # 1100 px at scale 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--end", "2024-13"], "--end"),
        (["--by", "nosuch"], "nosuch"),
        (["--window", "0"], "--window"),
        (["--fx-mode", "sideways"], "sideways"),
    ],
)
def test_cli_bad_input_exits_2(extra: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", *INPUTS, "--out", str(tmp_path / "r.html"), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "r.html").exists()


def test_cli_missing_input_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "-s", str(tmp_path / "none.csv")])
    assert result.exit_code == 2
    assert "none.csv" in result.output


def test_cli_png_without_a_browser_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chrome"))
    result = runner.invoke(
        app, ["report", *INPUTS, "--out", str(tmp_path / "r.html"), "--png", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "install chromium" in result.output
    assert not (tmp_path / "r.html").exists()
