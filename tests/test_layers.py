"""The house's layers: `nrr.present`, `nrr.web` and `nrr.cli` sit on top, and the library never
imports them, not even lazily inside a function; and `nrr.engines` is the one place that
opens a database (a driver import, a DuckDB connection).

Read statically with `ast`: no module under test is imported or run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "nrr"
TOP = ("present", "web", "cli")
FORBIDDEN = tuple(f"nrr.{name}" for name in TOP)


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module of `from ... import`, relative forms included."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def offending_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """`line: what` for each import of the top layers in `source`: `import nrr.web`,
    `from nrr.present.x import y`, `from nrr import cli`, relative forms, and
    `importlib.import_module("nrr.present...")` or `__import__(...)` with a literal name,
    wherever they stand (module level, functions, `if TYPE_CHECKING:` blocks)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module, is_package)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if called in ("import_module", "__import__") and isinstance(first, ast.Constant):
                names = [str(first.value)]
        hit = next((name for name in names if _forbidden(name)), None)
        if hit is not None:
            found.append(f"{node.lineno}: {ast.get_source_segment(source, node) or hit}")
    return found


def library_modules() -> list[Path]:
    """Every module under src/nrr except the top layers' packages."""
    return sorted(
        path for path in PACKAGE.rglob("*.py") if path.relative_to(PACKAGE).parts[0] not in TOP
    )


def test_the_library_never_imports_present_web_or_cli() -> None:
    modules = library_modules()
    names = {_module_name(p) for p in modules}
    # The walk sees the library: the results, the analyses, the records below `present`.
    assert {"nrr.book", "nrr.analysis.causes", "nrr.records.window"} <= names
    assert not any(_forbidden(name) for name in names)
    problems = [
        f"{path.relative_to(SRC.parent)}:{line}"
        for path in modules
        for line in offending_imports(
            path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py"
        )
    ]
    assert not problems, "the library imports a top layer:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        "import nrr.present.tables\n",
        "import nrr.web as web\n",
        "from nrr.cli import app\n",
        "from nrr import present\n",
        "from nrr import results, web\n",
        "def f():\n    from nrr.present.machine import records_csv\n",
        "class A:\n    def frame(self):\n        import nrr.cli.core\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nrr.web import api\n",
        "from ..present import tables\n",
        "from .. import cli\n",
        "import importlib\nimportlib.import_module('nrr.present.causes')\n",
        "__import__('nrr.web.api')\n",
    ],
)
def test_the_check_finds_each_form(source: str) -> None:
    assert offending_imports(source, "nrr.analysis.causes")


@pytest.mark.parametrize(
    "source",
    [
        "import nrr.records.window\n",
        "from nrr import sqltext\n",
        "from nrr.results import WindowResult\n",
        "from . import rounding\n",
        "from ..records import causes\n",
        "import presentation\n",
        "from nrr.presenter import x\n",
        "importlib.import_module(name)\n",
    ],
)
def test_the_check_lets_the_library_be(source: str) -> None:
    assert offending_imports(source, "nrr.analysis.causes") == []


def test_relative_imports_resolve_from_the_package() -> None:
    # In nrr/analysis/__init__.py, `..` is nrr itself; in nrr/analysis/causes.py it is too.
    assert offending_imports("from .. import web\n", "nrr.analysis", is_package=True)
    assert offending_imports("from ..web import api\n", "nrr.analysis.causes")
    assert not offending_imports("from .web import x\n", "nrr.analysis", is_package=True)


# Who may open a database: the engines, and the demo's writer of its sample `.duckdb` file.
DRIVERS = ("psycopg", "pyspark")
OPENERS = ("engines", "datasets")


def database_contacts(source: str) -> list[str]:
    """`line: what` for each import of a database driver (psycopg, PySpark) and each call of
    `duckdb.connect` in `source`: what only an engine module does."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "connect"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "duckdb"
        ):
            names = ["duckdb.connect"]
        if any(n == "duckdb.connect" or n.split(".")[0] in DRIVERS for n in names):
            found.append(f"{node.lineno}: {ast.get_source_segment(source, node)}")
    return found


def test_only_the_engines_talk_to_a_database() -> None:
    modules = [
        path for path in PACKAGE.rglob("*.py") if path.relative_to(PACKAGE).parts[0] not in OPENERS
    ]
    problems = [
        f"{path.relative_to(SRC.parent)}:{line}"
        for path in modules
        for line in database_contacts(path.read_text(encoding="utf-8"))
    ]
    assert not problems, "a module outside nrr.engines opens a database:\n" + "\n".join(problems)
    engines = (PACKAGE / "engines" / "postgres.py").read_text(encoding="utf-8")
    assert database_contacts(engines)  # the check sees a driver where there is one


@pytest.mark.parametrize(
    "source",
    ["import psycopg\n", "from pyspark.sql import SparkSession\n", "duckdb.connect(':memory:')\n"],
)
def test_the_database_check_finds_each_form(source: str) -> None:
    assert database_contacts(source)


def test_metrics_and_movements_never_import_pandas() -> None:
    # pandas, pyarrow and numpy cost 0.4-0.6 s of start-up and 100 MB: only a DataFrame, an
    # analysis that uses one, or a Parquet file needs them (docs/performance.md).
    import subprocess
    import sys

    data = Path(__file__).parent / "data" / "adversarial"
    code = (
        "import sys, contextlib, io\n"
        "from nrr.cli import main\n"
        "for command in (['metrics'], ['movements', '--start', '2024-01']):\n"
        f"    sys.argv = ['nrr', *command, '-s', {str(data / 'subscriptions.csv')!r},\n"
        f"                '--fx-rates', {str(data / 'fx_rates.csv')!r}, '--end', '2024-12',\n"
        "                '-f', 'json']\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        main()\n"
        "print(sorted({'pandas', 'pyarrow', 'numpy'} & set(sys.modules)))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=SRC.parent
    )
    assert found.stdout.strip().splitlines()[-1] == "[]", found.stderr
