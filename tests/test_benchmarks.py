"""Benchmarks: every default band is cited, `describe` finds the band, nrr.toml overrides it."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest

from nrr.benchmarks import (
    DEFAULT_BENCHMARKS,
    GRR_BANDS,
    LOGO_BANDS,
    METRICS,
    NRR_BANDS,
    TONES,
    Band,
    Benchmarks,
    band_for,
    benchmarks_from_config,
    describe,
)
from nrr.errors import InputError

D = Decimal
BOARD = """
[benchmarks.nrr]
source = "Our board's targets, 2026"
bands = [
  {from = 0.0, label = "below plan", tone = "bad"},
  {from = 1.05, label = "on plan", tone = "good"},
]
"""


def test_every_headline_metric_has_cited_sorted_bands():
    assert set(METRICS) == {"nrr", "grr", "logo_retention", "quick_ratio", "customer_churn_rate"}
    for benchmark in DEFAULT_BENCHMARKS:
        assert len(benchmark.source) > 40, benchmark.metric  # a citation, not a word
        floors = [b.floor for b in benchmark.bands]
        assert floors == sorted(set(floors)), benchmark.metric
        assert all(b.tone in TONES and b.label for b in benchmark.bands)
    sources = {b.metric: b.source for b in DEFAULT_BENCHMARKS}
    assert "SaaS Capital" in sources["nrr"] and "ChartMogul" in sources["nrr"]
    assert "KBCM" in sources["grr"] and "SaaS Capital" in sources["grr"]
    assert "Social Capital" in sources["quick_ratio"] and "Baremetrics" in sources["quick_ratio"]
    assert "Customer Churn Rate" in sources["customer_churn_rate"]


@pytest.mark.parametrize(
    ("metric", "value", "label", "tone"),
    [
        ("nrr", "0.85", "below 90%", "bad"),
        ("nrr", "0.90", "90-100%", "warn"),
        ("nrr", "1.07", "100-110%", "ok"),
        ("nrr", "1.10", "110-120%", "good"),
        ("nrr", "1.5", "120%+", "great"),
        ("grr", "0.93", "90%+", "good"),
        ("grr", "0.85", "80-90%", "warn"),
        ("logo_retention", "0.5", "42-78%", "warn"),
        ("logo_retention", "0.9", "78%+", "good"),
        ("quick_ratio", "0.5", "below 1", "bad"),
        ("quick_ratio", "4", "4+", "good"),
        ("customer_churn_rate", "0.01", "under 2%", "good"),
        ("customer_churn_rate", "0.05", "2-7%", "warn"),
        ("customer_churn_rate", "0.07", "7%+", "bad"),
    ],
)
def test_describe(metric, value, label, tone):
    found = describe(metric, D(value))
    assert found is not None
    assert found.label.startswith(label) and found.tone == tone
    assert found.source == DEFAULT_BENCHMARKS[metric].source
    band_label, band_tone, source = found  # a plain (label, tone, source) tuple too
    assert (band_label, band_tone) == (found.label, found.tone) and source


def test_describe_without_value_or_metric():
    assert describe("nrr", None) is None
    assert describe("ltv", D(1)) is None


def test_legacy_constants_still_work():
    assert band_for(D("1.15"), NRR_BANDS).label == "110-120%: strong"
    assert band_for(D("0.95"), GRR_BANDS).tone == "good"
    assert band_for(D("0.85"), LOGO_BANDS).label == "80-90% of customers kept"
    assert band_for(None, NRR_BANDS) is None
    assert DEFAULT_BENCHMARKS["nrr"].bands == NRR_BANDS
    assert isinstance(NRR_BANDS[0], Band)


def test_config_overrides_one_metric():
    table = tomllib.loads(BOARD)["benchmarks"]
    benchmarks = benchmarks_from_config(table)
    assert isinstance(benchmarks, Benchmarks)
    on_plan = benchmarks.describe("nrr", D("1.07"))
    assert on_plan == ("on plan", "good", "Our board's targets, 2026")
    assert benchmarks.describe("nrr", D("1.04")).label == "below plan"
    assert benchmarks.describe("nrr", D("-0.5")).label == "below plan"  # first band: and below
    assert benchmarks["grr"] == DEFAULT_BENCHMARKS["grr"]  # the others keep their defaults
    assert benchmarks["nrr"].window_months == 12
    assert [b.metric for b in benchmarks] == list(METRICS)
    assert benchmarks.describe("nrr", D("1.05")).label == "on plan"  # from is inclusive


def test_tone_defaults_to_ok_and_ints_are_numbers():
    table = {"quick_ratio": {"source": "VC letter", "bands": [{"from": 0, "label": "x"}]}}
    found = benchmarks_from_config(table).describe("quick_ratio", D(3))
    assert found == ("x", "ok", "VC letter")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'source = "s"\nbands = [{from = 1.0, label = "a"}, {from = 0.9, label = "b"}]',
            "sorted",
        ),
        ('source = "s"\nbands = [{from = 1.0, label = "a"}, {from = 1.0, label = "b"}]', "sorted"),
        ('source = "s"\nbands = [{from = 1.0, label = "a", tone = "pink"}]', "tone 'pink'"),
        ('source = "s"\nbands = [{from = "1.05", label = "a"}]', "must be a number"),
        ('source = "s"\nbands = [{from = true, label = "a"}]', "must be a number"),
        ('source = "s"\nbands = [{from = 1.0}]', "label"),
        ('source = "s"\nbands = []', "at least one band"),
        ('bands = [{from = 1.0, label = "a"}]', "needs source"),
        ('source = "s"\nbands = [{from = 1.0, label = "a", colour = "red"}]', "unknown key"),
        ('source = "s"\nbands = [{from = 1.0, label = "a"}]\nnote = "x"', "unknown key"),
    ],
)
def test_bad_config_names_the_table_and_the_problem(text, problem):
    table = {"nrr": tomllib.loads(text)}
    with pytest.raises(InputError) as info:
        benchmarks_from_config(table)
    message = str(info.value)
    assert "nrr.toml [benchmarks.nrr]" in message
    assert problem in message


def test_bad_config_reports_every_problem_and_unknown_metrics():
    table = {
        "ltv": {"source": "x", "bands": []},
        "grr": {"bands": [{"from": "high", "label": "a", "tone": "meh"}]},
    }
    with pytest.raises(InputError) as info:
        benchmarks_from_config(table, file="team/nrr.toml")
    problems = [str(p) for p in info.value.problems]
    assert any("[benchmarks.ltv]" in p and "unknown metric" in p for p in problems)
    grr = [p for p in problems if "team/nrr.toml [benchmarks.grr]" in p]
    assert len(grr) == 3  # no source, non-numeric from, bad tone
    with pytest.raises(InputError):
        benchmarks_from_config({"nrr": "high"})


def test_nrr_toml_bands_reach_every_headline_table(tmp_path):
    import json

    from typer.testing import CliRunner

    from nrr.cli import app

    from .conftest import SUB_HEADER, sub, write_csv

    # one customer: 100 -> 104 over the year, NRR 104%
    subs = write_csv(
        tmp_path / "subs.csv",
        SUB_HEADER,
        [sub("A", "2024-01-01", "2025-01-01", 100), sub("A", "2025-01-01", None, 104)],
    )
    config = tmp_path / "nrr.toml"
    config.write_text(
        "[benchmarks.nrr]\n"
        'source = "Board plan 2026"\n'
        'bands = [{from = 0.0, label = "below plan", tone = "bad"},'
        ' {from = 1.05, label = "on plan", tone = "good"}]\n'
    )
    runner = CliRunner()
    base = ["-s", str(subs), "--end", "2025-06", "--config", str(config)]
    for command in (["metrics"], ["methods"], ["impact", "--by", "cohort"], ["whatif"]):
        out = runner.invoke(app, [*command, *base])
        assert out.exit_code == 0, (command, out.output)
        assert "below plan" in out.stdout and "Board plan 2026" in out.stdout, command
    record = json.loads(runner.invoke(app, ["whatif", *base, "--format", "json"]).stdout)
    assert record["benchmarks"]["nrr"]["band"] == "below plan"
    config.write_text('[benchmarks.nrr]\nsource = "x"\nbands = [{from = "high"}]\n')
    bad = runner.invoke(app, ["metrics", *base])
    assert bad.exit_code == 2 and "[benchmarks.nrr]" in bad.stderr
