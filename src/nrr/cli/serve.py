"""`nrr serve`: the dashboard and its JSON API over one book (docs/dashboard.md)."""

from __future__ import annotations

import socket
import sys

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
        help="Address to listen on. Anything but loopback (127.0.0.1, ::1, localhost) needs "
        "--token.",
    ),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar="NRR_TOKEN",
        help="Require this token on every request (Authorization: Bearer TOKEN, or ?token= "
        "once in the browser). Also read from NRR_TOKEN.",
        show_envvar=True,
    ),
) -> None:
    """A read-only dashboard with filters and drill-down, and a JSON API (docs at /docs)."""
    from nrr.web.auth import is_loopback, valid_token

    token = token or None
    if not is_loopback(host) and token is None:
        raise InputError(
            Problem(
                source="--host",
                message=f"{host} is not a loopback address: give --token TOKEN or set "
                "NRR_TOKEN, so that only people with the token can read the data (or keep "
                "--host 127.0.0.1)",
            )
        )
    if token is not None and not valid_token(token):
        raise InputError(
            Problem(source="--token", message="use printable ASCII without spaces for the token")
        )
    if not 0 < port < 65536:
        raise InputError(Problem(source="--port", message=f"{port} is not a port number"))

    _check_port(host, port)

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
    uvicorn.run(dashboard, host=host, port=port, log_level="warning")


def _check_port(host: str, port: int) -> None:
    """Fail before reading the data when the address cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InputError(Problem(source="--host", message=f"{host}: {exc}")) from None
    family, kind, _, _, address = infos[0]
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
