"""`create_app(book)`: the FastAPI application behind `nrr serve`.

Read-only (GET and HEAD only), every parameter checked against the book before it reaches the
library, the engine behind one lock, computed views cached. With a token every route needs
it (nrr.web.auth). No page loads anything from outside this server: plotly.js, the
stylesheets and the script are served under /static, and /docs renders the OpenAPI spec
without Swagger's CDN assets.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import replace
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from nrr.analysis.history import UnknownCustomer
from nrr.errors import InputError, NRRError
from nrr.present.lineage import nrr_version
from nrr.web import api, pages
from nrr.web.auth import MIN_TOKEN_LENGTH, Guard, Throttle, valid_token
from nrr.web.service import Service

if TYPE_CHECKING:
    from nrr.book import Book

__all__ = ["create_app"]

log = logging.getLogger("nrr.web")

_STATIC_TYPES = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
DESCRIPTION = (
    "Net revenue retention over one set of billing data, read-only. Every view of the "
    "dashboard has an endpoint here; `/api/metrics`, `/api/movements`, `/api/trends`, "
    "`/api/cohorts`, `/api/methods`, `/api/rates` and `/api/owners` return exactly what the "
    "`nrr` command of the same name prints with `--format json`. Amounts are in the base "
    "currency, rounded to cents; ratios are fractions rounded to 4 places. Parameters that "
    "name attributes, values, months or customers are checked against the data, and a "
    "request naming something it does not hold gets a 422 listing what exists."
)


def create_app(
    book: Book, *, token: str | None = None, throttle: Throttle | None = None
) -> FastAPI:
    """The dashboard and its API over `book`.

    With `token`, every request must carry it (`Authorization: Bearer TOKEN`, or `?token=` on
    a page URL, which sets a session cookie), and wrong tokens are throttled per client
    (`throttle`, default `Throttle()`); without one, the app answers only requests
    addressed to a loopback host name, and is meant to listen on loopback only.
    """
    if token is not None and not valid_token(token):
        raise ValueError(
            f"the token must be at least {MIN_TOKEN_LENGTH} characters of printable ASCII "
            "without spaces"
        )
    app = FastAPI(
        title="nrr dashboard",
        version=nrr_version(),
        description=DESCRIPTION,
        # Swagger UI and ReDoc load their scripts from a CDN; /docs is served offline instead.
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = Service(book)
    app.include_router(api.router)
    app.include_router(pages.router)
    _static_routes(app)
    _error_handlers(app)
    # Over a network the pages and the API's larger answers are worth compressing.
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=6)
    app.add_middleware(Guard, token=token, throttle=throttle)
    return app


@cache
def _static(name: str) -> bytes:
    if name == "plotly.min.js":
        from plotly.offline import get_plotlyjs

        return get_plotlyjs().encode("utf-8")
    if name == "report.css":
        from nrr.present.report import report_css

        return report_css().encode("utf-8")
    return files("nrr.web").joinpath("static", name).read_bytes()


@cache
def _gzipped(name: str) -> bytes:
    return gzip.compress(_static(name), compresslevel=6)


def _static_routes(app: FastAPI) -> None:
    types = {
        **_STATIC_TYPES,
        "plotly.min.js": "text/javascript; charset=utf-8",
        "report.css": "text/css; charset=utf-8",
    }

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str, request: Request) -> Response:
        # A fixed list of files: no path from the request ever reaches the file system.
        if name not in types:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        headers = {"cache-control": "public, max-age=300", "vary": "Accept-Encoding"}
        if name != "plotly.min.js":
            return Response(_static(name), media_type=types[name], headers=headers)
        # plotly.js is 4.8 MB and changes only with the installed plotly: cached by the
        # browser for a day, and compressed once here (1.5 MB) rather than on every request.
        headers["cache-control"] = "public, max-age=86400"
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["content-encoding"] = "gzip"
            return Response(_gzipped(name), media_type=types[name], headers=headers)
        return Response(_static(name), media_type=types[name], headers=headers)


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/openapi.json"


def _error_page(request: Request, status: int, detail: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": detail}, status_code=status)
    return pages.render(
        "error.html",
        status=status,
        title="Not shown",
        detail=detail,
        status_code=status,
        charts=False,
    )


def _detail(exc: InputError) -> str:
    """The problems, each named by the query parameter (`by`) rather than the CLI flag
    (`--by`) where the library names a flag."""
    lines = []
    for problem in exc.problems:
        source = problem.source
        if source.startswith("--"):
            source = source[2:].replace("-", "_")
        lines.append(str(replace(problem, source=source)))
    if exc.note:
        lines.append(exc.note)
    return "\n".join(lines)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        status = 404 if isinstance(exc, UnknownCustomer) else 422
        return _error_page(request, status, _detail(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return await request_validation_exception_handler(request, exc)
        lines = [
            f"{'.'.join(str(x) for x in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', '')}"
            for e in exc.errors()
        ]
        return _error_page(request, 422, "\n".join(lines))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(NRRError)
    async def nrr_error(request: Request, exc: NRRError) -> Response:
        # An InternalError is a bug: say so plainly rather than hiding it behind a bare 500.
        log.error("internal error on %s: %s", request.url.path, exc, exc_info=exc)
        return _error_page(request, 500, f"internal error in nrr (please report it): {exc}")

    @app.exception_handler(Exception)
    async def last_resort(request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        return _error_page(request, 500, "internal error (see the server's log)")
