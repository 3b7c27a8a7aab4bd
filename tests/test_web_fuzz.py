"""Property-based fuzzing of `nrr serve`'s API from its own OpenAPI spec (schemathesis): for
every GET endpoint, valid and invalid parameters alike, no response is a server error, and
every response matches what the spec documents (status codes, content types, schemas)."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import nrr
from nrr.web import create_app

DATA = Path(__file__).parent / "data" / "adversarial"
# Without a token the app answers only to loopback host names (DNS rebinding); the in-process
# client would otherwise say `testserver`.
HOST = {"host": "127.0.0.1"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# Loaded when the module is collected: schemathesis's lazy fixture loader does not work with
# pytest 9 (it sets the removed `Node._nodeid`), and the fixture book loads in well under a
# second.
BOOK = nrr.load(
    DATA / "subscriptions.csv",
    customers=DATA / "customers.csv",
    fx_rates=DATA / "fx_rates.csv",
)
APP = create_app(BOOK)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, headers=HOST)
# The views that need many analyses (a chart needs every view of the page, some two seconds
# on this book) take their cases from fuzzing alone, without the coverage phase's dozens of
# boundary combinations, to keep the run short.
HEAVY = r"^/api/(charts|drill/segment|methods|rates)"
fuzz_only = schemathesis.openapi.from_asgi(
    "/openapi.json",
    APP,
    headers=HOST,
    config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}}),
)
SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck)}


@schema.exclude(path_regex=HEAVY).parametrize()
@settings(max_examples=15, **SETTINGS)
def test_api_never_fails(case):
    case.call_and_validate(headers=HOST, checks=CHECKS)


@fuzz_only.include(path_regex=HEAVY).parametrize()
@settings(max_examples=10, **SETTINGS)
def test_heavy_views_never_fail(case):
    case.call_and_validate(headers=HOST, checks=CHECKS)
