"""The dashboard's guard: where it listens is judged by addresses, tokens are long enough, and
wrong tokens are throttled.

Name resolution is replaced in process (`socket.getaddrinfo`), so no test depends on DNS; the
throttle's clock is a parameter, so no test sleeps.
"""

from __future__ import annotations

import socket
import warnings
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import nrr
from nrr.cli import app as cli
from nrr.web import create_app
from nrr.web.auth import Throttle, only_loopback, valid_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's TestClient would rather use httpx2
    from fastapi.testclient import TestClient

DATA = Path(__file__).parent / "data" / "adversarial"
INPUTS = ["-s", str(DATA / "subscriptions.csv"), "-c", str(DATA / "customers.csv")]
INPUTS += ["--fx-rates", str(DATA / "fx_rates.csv")]
TOKEN = "a-long-enough-token-1234"


def _resolving(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> None:
    """Make each name resolve to its addresses; every other host resolves as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in names:
            return real(host, port, *args, **kwargs)
        if not names[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port or 0, 0, 0) if ":" in a else (a, port or 0),
            )
            for a in names[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def serve(*args: str):
    return CliRunner().invoke(cli, ["serve", *INPUTS, *args])


def test_loopback_is_judged_by_addresses() -> None:
    assert only_loopback(["127.0.0.1"]) and only_loopback(["::1", "127.0.0.2"])
    assert not only_loopback(["127.0.0.1", "203.0.113.5"])  # every address must be loopback
    assert not only_loopback(["0.0.0.0"]) and not only_loopback(["::"])
    assert not only_loopback([])


def test_a_name_that_resolves_elsewhere_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NRR_TOKEN", raising=False)
    _resolving(
        monkeypatch,
        {"evil.localhost": ["203.0.113.5"], "split.localhost": ["127.0.0.1", "198.51.100.7"]},
    )
    for host in ("evil.localhost", "split.localhost"):
        result = serve("--host", host)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: --host: {host} is not a loopback address")
        assert "--token" in result.stderr and "NRR_TOKEN" in result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_a_name_that_does_not_resolve_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    _resolving(monkeypatch, {"nowhere.invalid": []})
    result = serve("--host", "nowhere.invalid", "--token", TOKEN)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --host: 'nowhere.invalid' does not resolve")
    assert len(result.stderr.splitlines()) == 1


def test_a_name_that_resolves_to_loopback_needs_no_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It passes the host check and goes on to the port: taken here, so it stops there."""
    monkeypatch.delenv("NRR_TOKEN", raising=False)
    _resolving(monkeypatch, {"dash.internal": ["127.0.0.1"]})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve("--host", "dash.internal", "--port", str(port))
    assert result.exit_code == 2
    assert f"cannot listen on dash.internal port {port}" in result.stderr


@pytest.mark.parametrize("token", ["a", "fifteen-chars-x", "sixteen chars ok"])
def test_a_short_or_odd_token_is_refused(token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = serve("--token", token)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --token: use at least 16 characters")
    monkeypatch.setenv("NRR_TOKEN", token)
    assert serve().exit_code == 2
    assert not valid_token(token)
    assert valid_token("sixteen-chars-ok")


@pytest.fixture(scope="module")
def book() -> nrr.Book:
    return nrr.load(
        DATA / "subscriptions.csv",
        customers=DATA / "customers.csv",
        fx_rates=DATA / "fx_rates.csv",
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_short_tokens_are_refused_by_the_app_too(book: nrr.Book) -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        create_app(book, token="short")


def test_wrong_tokens_are_throttled_then_let_through(book: nrr.Book) -> None:
    clock = Clock()
    throttle = Throttle(limit=5, window=60, clock=clock)
    client = TestClient(create_app(book, token=TOKEN, throttle=throttle), base_url="http://d.x")
    right = {"authorization": f"Bearer {TOKEN}"}
    for attempt in range(5):
        wrong = client.get("/api/meta", headers={"authorization": f"Bearer guess-{attempt}"})
        assert wrong.status_code == 401
        clock.now += 1
    # Five wrong tokens within the window: this address is now held off, right token or not.
    for headers in ({"authorization": "Bearer guess-6"}, right):
        held = client.get("/api/meta", headers=headers)
        assert held.status_code == 429
        assert held.headers["retry-after"] == "55"  # the first guess leaves the window at 1060
        assert "too many wrong tokens" in held.json()["detail"]
    assert client.get(f"/?token={TOKEN}", follow_redirects=False).status_code == 429
    clock.now = 1060.0  # the first guess is a minute old: one more try is allowed
    assert client.get("/api/meta", headers=right).status_code == 200
    # A success forgets the failures.
    for _ in range(4):
        assert client.get("/api/meta?token=nope").status_code == 401
    assert client.get("/api/meta", headers=right).status_code == 200


def test_requests_without_a_token_or_with_an_old_cookie_are_not_guesses(
    book: nrr.Book,
) -> None:
    throttle = Throttle(limit=3, window=60, clock=Clock())
    client = TestClient(create_app(book, token=TOKEN, throttle=throttle), base_url="http://d.x")
    client.cookies.set("nrr_session", "from-an-earlier-run")
    for _ in range(10):
        assert client.get("/").status_code == 401
    assert client.get(f"/?token={TOKEN}", follow_redirects=False).status_code == 303


def test_the_throttle_keeps_a_fixed_memory() -> None:
    clock = Clock()
    throttle = Throttle(limit=2, window=60, clients=3, clock=clock)
    for client in ("a", "b", "c", "d"):
        throttle.failed(client)
        throttle.failed(client)
    assert len(throttle._failures) == 3  # "a", failing least recently, was forgotten
    assert throttle.retry_after("a") is None
    assert throttle.retry_after("d") == 60
    throttle.failed("b")  # "b" failed again: now the most recent, it outlives "c"
    throttle.failed("e")
    assert set(throttle._failures) == {"d", "b", "e"}


def test_throttling_is_per_client_address(book: nrr.Book) -> None:
    clock = Clock()
    throttle = Throttle(limit=2, window=60, clock=clock)
    guard = create_app(book, token=TOKEN, throttle=throttle)
    one = TestClient(guard, base_url="http://d.x", client=("192.0.2.1", 5000))
    other = TestClient(guard, base_url="http://d.x", client=("192.0.2.2", 5000))
    near = TestClient(guard, base_url="http://d.x", client=("2001:db8::1", 5000))
    same_host = TestClient(guard, base_url="http://d.x", client=("2001:db8::2", 5000))
    for _ in range(2):
        one.get("/api/meta?token=nope")
        near.get("/api/meta?token=nope")
    assert one.get(f"/api/meta?token={TOKEN}").status_code == 429
    assert other.get(f"/api/meta?token={TOKEN}").status_code == 200
    # An IPv6 host holds a whole /64: its neighbours there are the same client.
    assert same_host.get(f"/api/meta?token={TOKEN}").status_code == 429
    # An IPv4 peer seen on a dual-stack socket is the same client as itself over IPv4.
    mapped = TestClient(guard, base_url="http://d.x", client=("::ffff:192.0.2.1", 5000))
    assert mapped.get(f"/api/meta?token={TOKEN}").status_code == 429
