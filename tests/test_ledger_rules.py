"""Hand-computed fixtures for every edge of METRICS.md sections 2 and 3.

Each case states the lines, the months they count in, and the bridge a person computes by
hand; the expected numbers are written out, never derived from the code under test.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import sub

D = Decimal


def bridge(book, start, end, by=None):
    return {(r.segment, r.month): r for r in book.bridge(start, end, by=by)}


def test_start_on_last_day_counts_that_month(make_book):
    book = make_book([sub("A", "2024-01-31", None, 100)])
    rows = bridge(book, "2024-01", "2024-02")
    assert rows[(None, "2024-01")].new == 100
    assert rows[(None, "2024-01")].ending_mrr == 100


def test_end_on_first_day_excludes_that_month(make_book):
    book = make_book([sub("A", "2024-01-15", "2024-03-01", 100)])
    rows = bridge(book, "2024-01", "2024-03")
    assert rows[(None, "2024-02")].ending_mrr == 100  # in service on Feb 29
    assert rows[(None, "2024-03")].churn == 100
    assert rows[(None, "2024-03")].ending_mrr == 0


def test_end_on_last_day_is_not_in_service_that_day(make_book):
    # end_date is exclusive: a line ending 2024-03-31 is not in service on March 31.
    book = make_book([sub("A", "2024-01-15", "2024-03-31", 100)])
    assert bridge(book, "2024-03", "2024-03")[(None, "2024-03")].churn == 100


def test_zero_length_and_mid_month_lines_never_count(make_book):
    book = make_book(
        [
            sub("A", "2024-02-10", "2024-02-10", 500),  # zero length
            sub("A", "2024-02-03", "2024-02-20", 700),  # never in service on a month end
            sub("B", "2024-02-01", None, 50),
        ]
    )
    rows = bridge(book, "2024-02", "2024-03")
    assert rows[(None, "2024-02")].new == 50
    assert rows[(None, "2024-02")].active_customers == 1
    assert book.window("2024-03", window=1).overall.customers_start == 1


def test_zero_amount_line_is_not_active(make_book):
    book = make_book([sub("A", "2024-01-01", None, 0), sub("A", "2024-03-01", None, 90)])
    rows = bridge(book, "2024-01", "2024-03")
    assert rows[(None, "2024-01")].active_customers == 0
    assert rows[(None, "2024-03")].new == 90  # first MRR > 0 is new, not reactivation
    assert book.window("2024-03", window=3, by="cohort").segments[0][0] == "2024-03"


def test_overlapping_lines_add_up(make_book):
    book = make_book(
        [
            sub("A", "2024-01-05", "2024-06-01", 100, product="core"),
            sub("A", "2024-03-10", None, 40, product="core"),  # overlaps: both in service Mar-May
        ]
    )
    rows = bridge(book, "2024-01", "2024-06")
    assert rows[(None, "2024-03")].expansion == 40
    assert rows[(None, "2024-05")].ending_mrr == 140
    assert rows[(None, "2024-06")].contraction == 100
    assert rows[(None, "2024-06")].ending_mrr == 40


def test_churn_then_reactivation(make_book):
    book = make_book(
        [
            sub("A", "2024-01-01", "2024-03-01", 100),
            sub("A", "2024-05-15", None, 80),
        ]
    )
    rows = bridge(book, "2024-01", "2024-06")
    assert rows[(None, "2024-01")].new == 100
    assert rows[(None, "2024-03")].churn == 100
    assert rows[(None, "2024-05")].reactivation == 80
    assert rows[(None, "2024-05")].new == 0
    window = book.window("2024-06", window=4).overall  # s = 2024-02: A is active (100)
    assert (window.starting_mrr, window.ending_mrr, window.contraction) == (100, 80, 20)
    later = book.window("2024-06", window=2).overall  # s = 2024-04: A is out, came back
    assert later.customers_start == 0
    assert later.reactivation_mrr == 80
    assert later.nrr is None and later.grr is None and later.logo_retention is None


def test_fractional_and_named_intervals(make_book):
    book = make_book(
        [
            sub("A", "2024-01-01", None, "1228.75", interval="12.2875"),  # 100.00 a month
            sub("B", "2024-01-01", None, 300, interval="quarter"),
            sub("C", "2024-01-01", None, 600, interval="half_year"),
            sub("D", "2024-01-01", None, 1200, interval="year"),
            sub("E", "2024-01-01", None, 25, interval=""),  # default: month
            sub("F", "2024-01-01", None, 100, interval=3),  # 33.33333333 a month
        ]
    )
    rows = bridge(book, "2024-01", "2024-01")
    assert rows[(None, "2024-01")].new == D(
        "458.33333333"
    )  # 100 + 100 + 100 + 100 + 25 + 33.33333333


def test_interval_names_and_currency_codes_in_any_case(make_book):
    # Names are matched as written, then lower-cased; the base currency skips the pattern
    # test that other codes take, so the two spellings must give the same lines.
    book = make_book(
        [
            sub("A", "2024-01-01", None, 300, interval="Quarter", currency="usd"),
            sub("B", "2024-01-01", None, 1200, interval="YEARLY", currency="Usd"),
            sub("C", "2024-01-01", None, 600, interval="Half-Year", currency=""),
            sub("D", "2024-01-01", None, 50, interval="monthly", currency="eur"),
            sub("E", "2024-01-01", None, 120, interval="annual", currency="EUR"),
        ],
        fx=[["2024-01", "EUR", "2"]],
    )
    rows = bridge(book, "2024-01", "2024-01")
    assert rows[(None, "2024-01")].new == D(100 + 100 + 100 + 100 + 20)


def test_rate_carried_forward_and_fx_term(make_book):
    book = make_book(
        [sub("A", "2024-01-01", None, 100, currency="EUR")],
        fx=[["2024-01", "EUR", "1.10"], ["2024-03", "EUR", "1.20"]],
    )
    rows = bridge(book, "2024-01", "2024-04")
    assert rows[(None, "2024-01")].new == D("110")
    assert rows[(None, "2024-02")].fx == 0  # 2024-02 carries 1.10 forward
    assert rows[(None, "2024-02")].ending_mrr == D("110")
    assert rows[(None, "2024-03")].fx == D("10")  # revaluation, not expansion
    assert rows[(None, "2024-03")].expansion == 0
    assert rows[(None, "2024-04")].starting_mrr == D("120")
    spot = book.window("2024-04", window=3).overall  # s = 2024-01 at 1.10, e at 1.20
    assert (spot.starting_mrr, spot.fx, spot.ending_mrr, spot.nrr) == (110, 10, 120, 120 / D(110))
    constant = book.window("2024-04", window=3, fx_mode="constant").overall
    assert (constant.fx, constant.ending_mrr, constant.nrr) == (0, 110, 1)


def test_movement_valued_at_opening_rates(make_book):
    # METRICS.md section 3: a month's movements are in constant currency at the opening
    # month's rates, and fx revalues the closing position.
    book = make_book(
        [
            sub("A", "2024-01-01", "2024-02-01", 100, currency="GBP"),
            sub("A", "2024-02-01", None, 150, currency="GBP"),
        ],
        fx=[["2024-01", "GBP", "1.25"], ["2024-02", "GBP", "1.30"]],
    )
    feb = bridge(book, "2024-02", "2024-02")[(None, "2024-02")]
    assert feb.starting_mrr == D("125")
    assert feb.expansion == D("62.5")  # (150 - 100) * 1.25
    assert feb.fx == D("7.5")  # 150 * (1.30 - 1.25)
    assert feb.ending_mrr == D("195")
    window = book.window("2024-02", window=1).overall
    assert (window.expansion, window.fx, window.ending_mrr) == (D("62.5"), D("7.5"), D("195"))


def test_churn_in_a_strengthening_currency_keeps_grr_between_0_and_1(make_book):
    # The defect the constant-currency convention fixes: valued at the closing month's rates,
    # B's churn (100 EUR, the euro doubling) was 200 against a starting MRR of 150, GRR -1/3.
    book = make_book(
        [
            sub("A", "2024-01-01", None, 50),
            sub("B", "2024-01-01", "2024-03-01", 100, currency="EUR"),
        ],
        fx=[["2024-01", "EUR", "1.0"], ["2024-03", "EUR", "2.0"]],
    )
    for mode in ("spot", "constant"):
        overall = book.window("2024-03", window=2, fx_mode=mode).overall
        assert (overall.starting_mrr, overall.churn, overall.fx) == (150, 100, 0)
        assert overall.grr == D(50) / D(150)
    months = bridge(book, "2024-02", "2024-03")
    assert months[(None, "2024-03")].churn == 100  # at February's rate, 1.0
    assert months[(None, "2024-03")].fx == 0  # nothing in EUR left to revalue


def test_customer_missing_from_customers_is_none(make_book):
    book = make_book(
        [sub("A", "2024-01-01", None, 100), sub("B", "2024-01-01", None, 50)],
        customers=[{"customer_id": "A", "segment": "SMB"}, {"customer_id": "Z", "segment": "Ent"}],
    )
    result = book.window("2024-02", window=1, by="segment")
    assert [name for name, _ in result.segments] == ["(none)", "SMB"]  # Z has no lines: ignored
    assert dict(result.segments)["(none)"].starting_mrr == 50


def test_tenure_bands(make_book):
    book = make_book(
        [
            sub("old", "2021-01-01", None, 10),
            sub("mid", "2023-03-01", None, 10),
            sub("young", "2023-10-01", None, 10),
            sub("fresh", "2024-06-01", None, 10),
        ]
    )
    result = book.window("2024-12", window=12, by="tenure")  # s = 2023-12
    got = {name: f for name, f in result.segments}
    assert set(got) == {"24+", "6-11", "0-5", "new"}
    assert got["new"].new_mrr == 10 and got["new"].customers_start == 0


def test_multi_currency_customer(make_book):
    book = make_book(
        [
            sub("A", "2024-01-01", None, 100, currency="USD"),
            sub("A", "2024-02-01", "2024-03-01", 100, currency="EUR"),
        ],
        fx=[["2024-01", "EUR", "1.5"]],
    )
    rows = bridge(book, "2024-01", "2024-03")
    assert rows[(None, "2024-02")].expansion == 150
    assert rows[(None, "2024-03")].contraction == 150
    assert rows[(None, "2024-03")].active_customers == 1


def test_currency_only_on_lines_without_mrr_needs_no_rate(make_book):
    book = make_book(
        [
            sub("A", "2024-01-01", None, 100),
            sub("B", "2024-01-01", None, 0, currency="EUR"),
            sub("C", "2024-01-10", "2024-01-10", 50, currency="GBP"),
        ]
    )
    assert book.window("2024-02", window=1).overall.starting_mrr == 100
    assert book.bridge("2024-01", "2024-02")[0].new == 100


# Per-line MRR is the exact quotient amount / interval_months rounded to 8 decimals, at any
# size below the 100-billion limit (DuckDB divides decimals in double precision, which alone
# gave 1,234,567,890.11999984 for 1,234,567,890.12 a month).
INTERVALS = ("1", "2", "3", "6", "12", "24", "36", "12.2875")


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 999_999_999_999_999),  # ten-thousandths: up to 11 integer digits
            st.sampled_from(INTERVALS),
        ),
        min_size=1,
        max_size=300,
    )
)
def test_line_mrr_is_the_exact_quotient_to_8_decimals(make_book, amounts):
    rows = [(D(units).scaleb(-4), interval) for units, interval in amounts]
    rows = [(amount, interval) for amount, interval in rows if amount / D(interval) < 10**11]
    if not rows:
        return
    book = make_book(
        [sub(f"c{i}", "2024-01-01", None, str(a), interval=n) for i, (a, n) in enumerate(rows)]
    )
    got = {r["customer_id"]: r["mrr_local"] for r in book.lines.to_dict("records")}
    with localcontext(Context(prec=60)):
        for i, (amount, interval) in enumerate(rows):
            want = (amount / D(interval)).quantize(D("1e-8"), rounding=ROUND_HALF_EVEN)
            assert got[f"c{i}"] == want, (amount, interval)


def test_line_mrr_keeps_every_digit_of_large_amounts(make_book):
    book = make_book(
        [
            sub("A", "2024-01-01", None, "1234567890.12"),
            sub("B", "2024-01-01", None, "9999999999.12345678"),
            sub("C", "2024-01-01", None, "12000000.01", interval="year"),
            sub("D", "2024-01-01", None, "200", interval="quarter"),
        ]
    )
    got = {r["customer_id"]: r["mrr_local"] for r in book.lines.to_dict("records")}
    assert got == {
        "A": D("1234567890.12"),
        "B": D("9999999999.12345678"),
        "C": D("1000000.00083333"),  # 12,000,000.01 / 12 = 1,000,000.000833...
        "D": D("66.66666667"),
    }


def test_bridge_of_twelve_digit_base_amounts_adds_up_exactly(make_book):
    # Near 10 billion EUR a month at 11.12 (as a book in IDR or KRW reaches): 12 integer
    # digits and 17 decimals, past the 28 digits of Python's default decimal context.
    book = make_book(
        [
            sub("A", "2024-01-01", None, "9999999999.12345678", currency="EUR"),
            sub("B", "2024-01-01", "2024-03-01", "9999999998.87654321", currency="EUR"),
        ],
        fx=[["2024-01", "EUR", "11.123456789"], ["2024-02", "EUR", "11.123456788"]],
    )
    rows = bridge(book, "2024-01", "2024-03")
    # (9999999999.12345678 + 9999999998.87654321) x 11.123456789
    assert rows[(None, "2024-01")].new == D("222469135757.75308631076543211")
    # Both customers revalued at 11.123456788: 19999999997.99999999 x -0.000000001
    assert rows[(None, "2024-02")].fx == D("-19.99999999799999999")
    # B churns at 9999999998.87654321 x 11.123456788
    assert rows[(None, "2024-03")].churn == D("111234567867.50327694324980948")
    # A stays: 9999999999.12345678 x 11.123456788
    assert rows[(None, "2024-03")].ending_mrr == D("111234567870.24980936951562264")
