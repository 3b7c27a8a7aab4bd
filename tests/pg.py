"""A live PostgreSQL server for the engine tests, and helpers to fill it.

Fixtures (registered in conftest.py):

- ``postgres_url`` (session): the URL of a live server. ``NRR_TEST_POSTGRES_URL`` if set
  (``.ci/run`` sets it); otherwise, if Debian's PostgreSQL binaries are installed, a throwaway
  cluster started for the session on a free port (DESIGN.md, "Throwaway PostgreSQL") and stopped
  at its end; otherwise the test is skipped, or fails if ``NRR_REQUIRE_POSTGRES=1``.
- ``postgres_db`` (per test): the URL of a new, empty database on that server, dropped after the
  test, so that tests never see each other's tables.

Helpers: ``fresh_database(url)`` (the same as a context manager) and
``copy_csv_to_table(url, table, csv_path, columns)`` (bulk-load a CSV with COPY).
"""

from __future__ import annotations

import contextlib
import csv
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

URL_ENV = "NRR_TEST_POSTGRES_URL"
REQUIRE_ENV = "NRR_REQUIRE_POSTGRES"


def _unavailable(reason: str) -> None:
    """Skip, or fail when the run says PostgreSQL is required."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL required ({REQUIRE_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL: {reason} (set {URL_ENV}, or install Debian's postgresql)")


def _answers(url: str) -> str | None:
    """None if the server at ``url`` answers a query, else the error."""
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1").fetchone()
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Cluster:
    """A throwaway cluster in a temp dir; as root, run as postgres (initdb refuses root)."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="nrr-pg-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, user="postgres")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.dir / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}{done.stderr}{tail}"
            )

    def start(self) -> None:
        data = str(self.dir / "data")
        initdb = ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"]
        self._run("initdb", *initdb, "--no-sync")
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._run("pg_ctl", "-D", data, "-l", str(self.dir / "log"), "-w", "-o", opts, "start")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def _debian_bindir() -> str | None:
    found = [os.path.dirname(p) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    return max(found, key=lambda d: int(d.split("/")[-2]), default=None)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a live PostgreSQL server for the whole session (see the module docstring)."""
    url = os.environ.get(URL_ENV)
    if url:
        error = _answers(url)
        if error:
            _unavailable(f"{URL_ENV}={url} does not answer: {error}")
        yield url
        return
    bindir = _debian_bindir()
    if bindir is None:
        _unavailable(f"{URL_ENV} is not set and /usr/lib/postgresql/*/bin/initdb is not installed")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root without runuser to start a cluster as postgres")
    cluster = _Cluster(bindir)
    try:
        cluster.start()
    except (RuntimeError, OSError) as exc:
        cluster.stop()
        _unavailable(f"could not start a throwaway cluster: {exc}")
    try:
        yield cluster.url
    finally:
        cluster.stop()


def _with_dbname(url: str, dbname: str) -> str:
    """``url`` (a postgresql:// URL) with its database replaced by ``dbname``."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"expected a postgresql:// URL, got {url!r}")
    return urlunsplit(parts._replace(path="/" + quote(dbname)))


@contextlib.contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """Create an empty database on the server at ``url``; yield its URL; drop it afterwards.

    Dropping uses ``WITH (FORCE)``, so connections a test left open (ibis's, say) do not matter.
    """
    name = f"nrr_test_{uuid.uuid4().hex[:12]}"
    admin = make_conninfo(url, connect_timeout=5)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_dbname(url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database for this test only (dropped after it)."""
    with fresh_database(postgres_url) as url:
        yield url


def copy_csv_to_table(
    url: str,
    table: str,
    csv_path: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
    *,
    header: bool = True,
) -> int:
    """Bulk-load a CSV file into ``table`` (all columns TEXT) with COPY; return the row count.

    The table is dropped first if it exists, then created with one TEXT column per name in
    ``columns`` (default: the CSV's header row). ``table`` may be ``schema.name``. With
    ``header`` (the default) the file's first line is skipped. As in any COPY in CSV format, an
    unquoted empty field loads as NULL and a quoted one ("") as the empty string.
    """
    path = Path(csv_path)
    if columns is None:
        if not header:
            raise ValueError("columns are needed when the CSV has no header row")
        with path.open(newline="", encoding="utf-8") as handle:
            columns = next(csv.reader(handle))
    ident = sql.Identifier(*table.split("."))
    cols = [sql.Identifier(c) for c in columns]
    create = sql.SQL("CREATE TABLE {} ({})").format(
        ident, sql.SQL(", ").join(sql.SQL("{} TEXT").format(c) for c in cols)
    )
    copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER {})").format(
        ident, sql.SQL(", ").join(cols), sql.SQL("true" if header else "false")
    )
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ident))
        cur.execute(create)
        with cur.copy(copy) as pipe, path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                pipe.write(chunk)
        count = cur.rowcount
    return count
