"""Customer ids that differ only by case, Unicode form or invisible characters: nrr warns,
naming both ids and both rows, and never merges them (the numbers stay the same)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app
from nrr.lookalike import MAX_SHOWN, lookalike_key
from tests.conftest import SUB_HEADER, sub, write_csv

NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")

# (id in the subscriptions, id in the customers file, how they differ)
PAIRS = [
    ("acme", "Acme", "case"),
    (NFC, NFD, "Unicode normalization (NFC vs NFD)"),
    ("umbrella\u00a0", "umbrella", "invisible characters or spaces"),
    ("zw\u200bco", "zwco", "invisible characters or spaces"),
    ("joi\u200dner", "joiner", "invisible characters or spaces"),
    ("\ufeffbom", "bom", "invisible characters or spaces"),
    ("\uff21\uff42\uff43", "Abc", "Unicode compatibility forms (NFKC)"),
]


def _inputs(folder: Path, pairs: list[tuple[str, str, str]]) -> tuple[Path, Path]:
    subs = write_csv(
        folder / "subs.csv",
        SUB_HEADER,
        [sub(s, "2024-01-01", None, 100 + i) for i, (s, _, _) in enumerate(pairs)],
    )
    customers = write_csv(
        folder / "customers.csv",
        ["customer_id", "segment"],
        [[c, "Enterprise"] for _, c, _ in pairs],
    )
    return subs, customers


@pytest.mark.parametrize(("billed", "listed", "how"), PAIRS, ids=[p[2] + p[1] for p in PAIRS])
def test_customer_row_with_a_lookalike_id(
    tmp_path: Path, billed: str, listed: str, how: str
) -> None:
    subs, customers = _inputs(tmp_path, [(billed, listed, how)])
    book = nrr.load(subs, customers=customers, cache=False)
    assert book.intake.warnings == [
        f"customers.csv:2:customer_id: {_shown(listed, billed)[0]} has no subscriptions, but "
        f"subs.csv:2 has {_shown(listed, billed)[1]} (differs only by {how}); its attributes "
        "are not applied"
    ]
    # Never merged: the customer keeps no segment, and the numbers are those of the lines.
    figures = book.window("2024-06", window=1, by="segment")
    assert [name for name, _ in figures.segments] == ["(none)"]
    plain = nrr.load(subs, cache=False).window("2024-06", window=1)
    assert figures.overall == plain.overall


def _shown(a: str, b: str) -> tuple[str, str]:
    alike = unicodedata.normalize("NFC", repr(a)) == unicodedata.normalize("NFC", repr(b))
    return (ascii(a), ascii(b)) if alike else (repr(a), repr(b))


def test_on_the_command_line_one_warning_line_per_pair(tmp_path: Path) -> None:
    subs, customers = _inputs(tmp_path, PAIRS[:4])
    result = CliRunner().invoke(
        app, ["metrics", "-s", str(subs), "-c", str(customers), "--end", "2024-06"]
    )
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 4
    assert "warning: customers.csv:3:customer_id: 'cafe\\u0301' has no subscriptions" in (
        "\n".join(warnings)
    )
    assert "subs.csv:4 has 'umbrella\\xa0'" in "\n".join(warnings)


def test_lookalikes_within_the_subscriptions(tmp_path: Path) -> None:
    rows = [sub("hooli", "2024-01-01", None, 100), sub("Hooli ", "2024-02-01", None, 50)]
    rows.append(sub("h\u200booli", "2024-03-01", None, 10))
    subs = write_csv(tmp_path / "subs.csv", SUB_HEADER, rows)
    book = nrr.load(subs, cache=False)
    assert book.intake.warnings == [
        "subs.csv:3:customer_id: 'Hooli' and row 2's 'hooli' differ only by case; they are "
        "counted as two customers (ids are never merged)",
        "subs.csv:4:customer_id: 'h\\u200booli' and row 3's 'Hooli' differ only by invisible "
        "characters or spaces and case; they are counted as two customers (ids are never merged)",
    ]
    assert book.window("2024-04", window=1).overall.customers_start == 3


def test_warnings_are_capped(tmp_path: Path) -> None:
    pairs = [(f"c{i}", f"C{i}", "case") for i in range(MAX_SHOWN + 5)]
    subs, customers = _inputs(tmp_path, pairs)
    warnings = nrr.load(subs, customers=customers, cache=False).intake.warnings
    assert len(warnings) == MAX_SHOWN + 1
    assert warnings[-1].startswith("5 more look-alike customer ids not shown")


def test_matching_ids_raise_no_warning(tmp_path: Path) -> None:
    pairs = [("acme", "acme", ""), (NFC, NFC, ""), ("Ünï", "Ünï", ""), ("a b", "a b", "")]
    subs, customers = _inputs(tmp_path, pairs)
    assert nrr.load(subs, customers=customers, cache=False).intake.warnings == []


def test_key() -> None:
    assert lookalike_key(" A\u00a0c\u200bME\ufeff") == "acme"
    assert lookalike_key(NFD) == lookalike_key(NFC.upper())
    assert lookalike_key("ﬁrm") == "firm"
