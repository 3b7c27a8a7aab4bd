"""The guard in front of every route: read-only methods, the token, and the Host header.

- Read-only: GET and HEAD only (HEAD is served as GET without the body); any other method is
  a 405, whatever the path.
- With a token, every request (pages, API, docs, static files) needs it: an
  `Authorization: Bearer TOKEN` header, or `?token=TOKEN` on a URL. On a page URL the token
  is then swapped for an HttpOnly, SameSite=Strict cookie and the browser is sent to the same
  URL without it, so links keep working and the token stays out of the address bar and the
  history. The cookie holds an HMAC of the token, not the token. Comparisons are constant-time
  (`secrets.compare_digest` on bytes).
- A token is at least 16 characters (`MIN_TOKEN_LENGTH`).
- Repeated wrong credentials are throttled per client address (an IPv6 client by its /64):
  after `Throttle.limit` wrong tokens within `Throttle.window` seconds, every
  request from there is a 429 with Retry-After until the oldest of them is that old, even
  with the right token. Only a wrong token counts: a request without one, or with the
  cookie of an earlier run, cannot lock a browser out. The memory is bounded: the least
  recently failing clients are forgotten first.
- Without a token the server listens on loopback only (`only_loopback`: decided by
  the addresses a name resolves to, never by the name), and the Host header must name a
  loopback host too: a web page elsewhere cannot reach it by pointing a DNS name at
  127.0.0.1 (DNS rebinding).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = [
    "COOKIE",
    "MIN_TOKEN_LENGTH",
    "Guard",
    "Throttle",
    "is_loopback",
    "only_loopback",
    "session_value",
    "valid_token",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "nrr_session"
MIN_TOKEN_LENGTH = 16
READ_METHODS = ("GET", "HEAD")
_SESSION_LABEL = b"nrr serve session"
# Security headers on every response: no framing, no sniffing, no referrer (URLs may carry
# a token), and no asset from anywhere but this server.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
        b"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
)


def is_loopback(host: str) -> bool:
    """True for the name localhost (and *.localhost) and loopback addresses (127.0.0.0/8,
    ::1): for the Host header a browser sends, which names what the browser asked for. Where
    to listen is decided by `only_loopback` instead."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def only_loopback(addresses: Iterable[str]) -> bool:
    """True when there are addresses and every one is loopback (127.0.0.0/8, ::1).

    Where to listen is judged by the addresses a name resolves to (`socket.getaddrinfo`),
    never by its spelling: `evil.localhost` may resolve to a public address.
    """
    # An IPv6 address may carry a zone (`fe80::1%eth0`); the zone says nothing about loopback.
    parsed = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    return bool(parsed) and all(a.is_loopback for a in parsed)


def valid_token(token: str) -> bool:
    """A token goes in a header, a URL and a cookie: printable ASCII without spaces; and it
    is long enough not to be guessed (`MIN_TOKEN_LENGTH`)."""
    return (
        len(token) >= MIN_TOKEN_LENGTH
        and token.isascii()
        and token.isprintable()
        and " " not in token
    )


def session_value(token: str) -> str:
    """The cookie's value: an HMAC of the token, so the cookie never holds the token itself."""
    return hmac.new(token.encode(), _SESSION_LABEL, hashlib.sha256).hexdigest()


def _same(given: str | None, expected: bytes) -> bool:
    if given is None:
        return False
    return secrets.compare_digest(given.encode("utf-8", "surrogateescape"), expected)


def _host_name(host_header: str) -> str:
    """The host of a Host header, without the port (`[::1]:8765` -> `::1`)."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class Throttle:
    """Wrong credentials per client: at most `limit` within `window` seconds.

    Each client keeps the times of its last `limit` failures; at most `clients` clients are
    remembered, the least recently failing forgotten first, so memory stays fixed whatever
    the number of addresses. `clock` gives seconds (monotonic); tests pass their own.
    """

    def __init__(
        self,
        *,
        limit: int = 10,
        window: float = 60.0,
        clients: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clients = clients
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None when it may now."""
        times = self._failures.get(client)
        if times is None or len(times) < self.limit:
            return None
        wait = times[0] + self.window - self.clock()
        return math.ceil(wait) if wait > 0 else None

    def failed(self, client: str) -> None:
        times = self._failures.pop(client, None)
        if times is None:
            times = deque(maxlen=self.limit)
            while len(self._failures) >= self.clients:
                self._failures.popitem(last=False)
        times.append(self.clock())
        self._failures[client] = times  # now the most recently failing

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


def _client_key(scope: Scope) -> str:
    """Who is asking, for the throttle: the peer's address; an IPv6 peer by its /64, the
    block one host usually holds whole."""
    client = scope.get("client")
    host = str(client[0]) if client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # an IPv4 peer on a dual-stack socket
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class Guard:
    """ASGI middleware: the method, token and Host checks for every HTTP request."""

    def __init__(
        self, app: ASGIApp, *, token: str | None, throttle: Throttle | None = None
    ) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.session = session_value(token).encode() if token else None
        self.throttle = throttle or Throttle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        method = scope["method"]
        if method == "HEAD":
            send = _without_body(send)
        if method not in READ_METHODS:
            await _json(send, 405, "this dashboard is read-only: GET and HEAD only", allow=True)
            return
        headers = _headers(scope)
        if self.token is None:
            host = _host_name(headers.get("host", ""))
            if not is_loopback(host):
                await _json(
                    send,
                    400,
                    f"Host {host!r} is not a loopback name; without a token this server "
                    "answers only to localhost and 127.0.0.1",
                )
                return
        else:
            client = _client_key(scope)
            wait = self.throttle.retry_after(client)
            if wait is not None:
                await _json(
                    send,
                    429,
                    f"too many wrong tokens from this address; try again in {wait} s",
                    retry_after=wait,
                )
                return
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
            given = next((v for k, v in query if k == "token"), None)
            if _same(given, self.token) and _is_page(scope["path"]):
                self.throttle.succeeded(client)
                await self._sign_in(scope, query, send)
                return
            verdict = self._check(headers, given)
            if verdict is not True:
                if verdict is False:  # a token was given, and it was wrong
                    self.throttle.failed(client)
                await _json(
                    send,
                    401,
                    "this dashboard needs its token: send Authorization: Bearer TOKEN, "
                    "or open a page once with ?token=TOKEN",
                    bearer=True,
                )
                return
            self.throttle.succeeded(client)
        if method == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)

    def _check(self, headers: dict[str, str], query_token: str | None) -> bool | None:
        """True: a right credential; False: a wrong token (a guess, for the throttle); None:
        no token. A stale or forged cookie is no guess (it is an HMAC, not the token), so a
        browser left with the cookie of an earlier run is not locked out."""
        assert self.token is not None and self.session is not None
        guessed = False
        authorization = headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer":
            if _same(credentials.strip(), self.token):
                return True
            guessed = True
        if query_token is not None:
            if _same(query_token, self.token):
                return True
            guessed = True
        if self._has_session(headers):
            return True
        return False if guessed else None

    def _has_session(self, headers: dict[str, str]) -> bool:
        assert self.session is not None
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no session, not an error
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and _same(morsel.value, self.session)

    async def _sign_in(self, scope: Scope, query: list[tuple[str, str]], send: Send) -> None:
        """Swap the token in a page URL for the session cookie, and go to the URL without it."""
        assert self.session is not None
        rest = urlencode([(k, v) for k, v in query if k != "token"])
        raw = scope.get("raw_path") or scope["path"].encode("utf-8")
        # One leading slash: `//host/...` (or `/\host`) would send the browser to another site.
        path = "/" + raw.decode("latin-1").lstrip("/\\")
        location = path + (f"?{rest}" if rest else "")
        cookie = f"{COOKIE}={self.session.decode()}; HttpOnly; SameSite=Strict; Path=/"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"set-cookie", cookie.encode()),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _is_page(path: str) -> bool:
    return not path.startswith(("/api/", "/static/")) and path != "/openapi.json"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


def _without_body(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return wrapped


async def _json(
    send: Send,
    status: int,
    detail: str,
    *,
    allow: bool = False,
    bearer: bool = False,
    retry_after: int | None = None,
) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if allow:
        headers.append((b"allow", b"GET, HEAD"))
    if bearer:
        headers.append((b"www-authenticate", b'Bearer realm="nrr"'))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
