"""`nrr serve`: the dashboard and its JSON API over one book (docs/dashboard.md)."""

from __future__ import annotations

import socket
import sys
from typing import Any

import typer

from nrr.cli.common import Loader, app, book_command, stderr
from nrr.errors import InputError, Problem

__all__ = ["serve"]


@app.command()
@book_command
def serve(
    load: Loader,
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address or name to listen on. Unless every address it resolves to is loopback "
        "(127.0.0.1, ::1), --token is needed.",
    ),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="NRR_TOKEN",
        help="Require this token (16 characters or more) on every request (Authorization: "
        "Bearer TOKEN, or ?token= once in the browser). Also read from NRR_TOKEN.",
        show_envvar=True,
    ),
) -> None:
    """A read-only dashboard with filters and drill-down, and a JSON API (docs at /docs)."""
    from nrr.web.auth import MIN_TOKEN_LENGTH, only_loopback, valid_token

    token = token or None
    if token is not None and not valid_token(token):
        raise InputError(
            Problem(
                source="--token",
                message=f"use at least {MIN_TOKEN_LENGTH} characters of printable ASCII "
                "without spaces, such as the output of: python -c 'import secrets; "
                "print(secrets.token_urlsafe())'",
            )
        )
    if not 0 < port < 65536:
        raise InputError(Problem(source="--port", message=f"{port} is not a port number"))
    # Resolved once: the addresses judged are the ones listened on, whatever DNS says later.
    addresses = _resolve(host, port)
    if token is None and not only_loopback(str(a[4][0]) for a in addresses):
        raise InputError(
            Problem(
                source="--host",
                message=f"{host} is not a loopback address (not everything it resolves to is "
                "127.0.0.0/8 or ::1): give --token TOKEN or set NRR_TOKEN, so that only "
                "people with the token can read the data (or keep --host 127.0.0.1)",
            )
        )
    # Listen where uvicorn would for the name: IPv4 unless the host is an IPv6 address.
    wanted = socket.AF_INET6 if ":" in host else socket.AF_INET
    family, kind, _, _, address = next((a for a in addresses if a[0] == wanted), addresses[0])
    _check_port(family, kind, address, host, port)

    import uvicorn

    from nrr.web import create_app

    book = load(signals=True)  # with its own progress bar on stderr for large inputs
    dashboard = create_app(book, token=token)
    console = stderr()
    with console.status("Computing the default views...", spinner="dots"):
        # The first page load is then served from the cache.
        service = dashboard.state.service
        service.sections(service.params())
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    sys.stderr.write(f"nrr serve: the dashboard is at {url} (API docs at {url}docs)\n")
    if token is not None:
        sys.stderr.write(
            "note: open it once with ?token=YOUR_TOKEN (a cookie keeps you signed in), or send "
            "Authorization: Bearer YOUR_TOKEN\n"
        )
    sys.stderr.write("Press Ctrl+C to stop.\n")
    uvicorn.run(dashboard, host=str(address[0]), port=port, log_level="warning")


def _resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    """The addresses `host` names; a name that does not resolve is the user's to fix."""
    try:
        found = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise InputError(
            Problem(source="--host", message=f"{host!r} does not resolve to an address ({exc})")
        ) from None
    if not found:
        raise InputError(Problem(source="--host", message=f"{host!r} resolves to no address"))
    return list(found)


def _check_port(family: int, kind: int, address: Any, host: str, port: int) -> None:
    """Fail before reading the data when the address cannot be listened on."""
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise InputError(
                Problem(
                    source="--port",
                    message=f"cannot listen on {host} port {port} ({exc.strerror}); "
                    "choose another with --port",
                )
            ) from None
