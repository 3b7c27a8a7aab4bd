"""`nrr.toml`: the settings a team keeps with its data, so every run counts the same way.

    currency = "USD"
    url = "postgresql://analyst@warehouse:5432/billing"   # optional: inputs are tables there
    engine = "spark"                                      # where to compute (docs/engines.md)
    on_invalid = "quarantine"                             # or "fail" (default)
    rejected = "rejected.csv"
    churn_at = "period_end"                               # or "cancel"
    grace_days = 30
    reactivation_window = 3                               # months; omit for "any gap"
    cache = false                                         # keep no checked copies of files

    [subscriptions]
    table = "billing.subscription_items"                  # or path = "...", or query = "..."
    format = "stripe"                                     # canonical, stripe, invoices, snapshots
    [subscriptions.columns]                               # expected name = your column
    customer = "account_id"

    [customers]
    path = "customers.csv"

    [fx_rates]
    path = "fx.csv"

    [usage]                                               # health inputs (docs/health-inputs.md):
    path = "usage.parquet"                                # usage, tickets, surveys, touchpoints,
                                                          # stakeholders
    [health]                                              # the health score (docs/health.md)
    profile_by = "segment"

    [benchmarks.nrr]                                      # your own bands (docs/benchmarks.md)
    source = "Board plan 2026"
    bands = [{from = 0.0, label = "below plan", tone = "bad"},
             {from = 1.05, label = "on plan", tone = "good"}]

Command-line flags win over the file; the file wins over the defaults.

Trust: a file the user names with `--config` may hold every key. An `nrr.toml` that nrr merely
finds in the current folder may change how numbers are computed and shown, never where data
is read from, sent or written: `url`, an `engine` that is a database URL, `rejected`, and an
input's `query` (SQL run with the user's credentials) are refused there, each with a line
naming the key, the file and the way to proceed (the flag, or `--config FILE`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nrr.benchmarks import DEFAULT_BENCHMARKS, Benchmarks, benchmarks_from_config
from nrr.errors import InputError, Problem
from nrr.health.inputs import HEALTH_INPUTS
from nrr.health.settings import DEFAULT_HEALTH, HealthSettings, health_from_config

__all__ = ["DEFAULT_CONFIG", "Config", "InputSpec", "read_config"]

DEFAULT_CONFIG = "nrr.toml"
_TOP = {
    "currency": str,
    "url": str,
    "engine": str,
    "on_invalid": str,
    "rejected": str,
    "churn_at": str,
    "grace_days": int,
    "reactivation_window": int,
    "cache": bool,
}
_INPUTS = ("subscriptions", "customers", "fx_rates", *HEALTH_INPUTS)
_INPUT_KEYS = {"path": str, "table": str, "query": str, "format": str, "columns": dict}


@dataclass(frozen=True)
class InputSpec:
    """Where one input comes from: a file path, or a table or query at the config's URL."""

    source: str | None = None
    format: str | None = None
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    named: bool = False  # given with --config, rather than found in the current folder
    settings: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    benchmarks: Benchmarks = DEFAULT_BENCHMARKS
    health: HealthSettings = DEFAULT_HEALTH

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    def input(self, role: str) -> InputSpec:
        return self.inputs.get(role, InputSpec())

    def origin(self) -> str | None:
        """Which settings file is in use and why, for a note on stderr; None without one."""
        if self.path is None:
            return None
        if self.named:
            return f"settings from {self.path} (--config)"
        return f"settings from ./{self.path} (found in the current folder)"


def read_config(path: str | Path | None) -> Config:
    """Read `path`, or `nrr.toml` in the current folder when it exists; else no settings.

    A file found in the current folder, rather than named, may not say where data goes
    (see the module's docstring): such keys there are an `InputError` naming each one.
    """
    explicit = path is not None
    file = Path(path) if path is not None else Path(DEFAULT_CONFIG)
    if not file.exists():
        if explicit:
            raise InputError(Problem(source=str(file), message="config file not found"))
        return Config()
    name = str(file)
    data = _parse(file, name)
    problems: list[Problem] = [] if explicit else _refused_when_found(name, data)
    settings: dict[str, Any] = {}
    inputs: dict[str, InputSpec] = {}
    benchmarks = DEFAULT_BENCHMARKS
    health = DEFAULT_HEALTH
    for key, value in data.items():
        if key == "health":
            try:
                health = health_from_config(value, file=name)
            except InputError as exc:
                problems.extend(exc.problems)
        elif key == "benchmarks":
            try:
                benchmarks = benchmarks_from_config(value, file=name)
            except InputError as exc:
                problems.extend(exc.problems)
        elif key in _INPUTS:
            spec = _input(name, key, value, problems)
            if spec is not None:
                inputs[key] = spec
        elif key in _TOP:
            kind = _TOP[key]
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                problems.append(
                    Problem(
                        source=name,
                        column=key,
                        message=f"{key} must be a {kind.__name__}, not {value!r}",
                    )
                )
            else:
                settings[key] = value
        else:
            known = ", ".join([*_TOP, *_INPUTS, "health", "benchmarks"])
            problems.append(
                Problem(source=name, column=key, message=f"unknown setting; known: {known}")
            )
    if problems:
        raise InputError(problems)
    return Config(
        path=file,
        named=explicit,
        settings=settings,
        inputs=inputs,
        benchmarks=benchmarks,
        health=health,
    )


def _parse(file: Path, name: str) -> dict[str, Any]:
    """The file's TOML document; anything that stops it being read is the user's to fix."""
    if file.is_dir():
        raise InputError(Problem(source=name, message="is a folder, not a settings file"))
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            Problem(source=name, message=f"is not UTF-8 text (byte {exc.start}); save it as UTF-8")
        ) from None
    except OSError as exc:
        raise InputError(
            Problem(source=name, message=f"cannot be read: {exc.strerror or exc}")
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(Problem(source=name, message=f"is not valid TOML: {exc}")) from None
    except RecursionError:
        # tomllib parses nested arrays and tables recursively; no setting nests this deep.
        raise InputError(
            Problem(
                source=name,
                message="is not a settings file: its tables or arrays nest too deeply to read",
            )
        ) from None


# What a file found in the current folder may not decide, with the flag that decides it instead.
_WHERE_DATA_GOES = {"url": "--url", "engine": "--engine", "rejected": "--rejected"}
_INPUT_FLAGS = {
    "subscriptions": "--subscriptions",
    "customers": "--customers",
    "fx_rates": "--fx-rates",
} | {kind: f"--{kind}" for kind in HEALTH_INPUTS}


def _refused_when_found(name: str, data: dict[str, Any]) -> list[Problem]:
    """The keys of a found (not named) file that say where data is read from, sent or written.

    `engine` is refused only as a database URL: `duckdb` and `spark` compute on this machine.
    An input's `query` is SQL run with the user's credentials, which can reach other servers
    or files (PostgreSQL's dblink, lo_export), so it is refused too; a `table` name is not.
    """
    refused: list[tuple[str, str]] = []
    for key, flag in _WHERE_DATA_GOES.items():
        if key in data and not (key == "engine" and "://" not in str(data[key])):
            refused.append((key, flag))
    for role, flag in _INPUT_FLAGS.items():
        value = data.get(role)
        if isinstance(value, dict) and "query" in value:
            refused.append((f"{role}.query", flag))
    return [
        Problem(
            source=name,
            column=key,
            message="a settings file found in the current folder may not say where data is "
            f"read from, sent or written; give {flag} on the command line, or name this file "
            f"with --config {name}",
        )
        for key, flag in refused
    ]


def _input(name: str, role: str, value: object, problems: list[Problem]) -> InputSpec | None:
    if not isinstance(value, dict):
        problems.append(Problem(source=name, column=role, message=f"[{role}] must be a table"))
        return None
    for key in value:
        if key not in _INPUT_KEYS:
            problems.append(
                Problem(
                    source=name,
                    column=f"{role}.{key}",
                    message=f"unknown key; use {', '.join(_INPUT_KEYS)}",
                )
            )
    given = [k for k in ("path", "table", "query") if k in value]
    if len(given) > 1:
        problems.append(
            Problem(
                source=name,
                column=role,
                message=f"give one of path, table or query, not {' and '.join(given)}",
            )
        )
    columns = value.get("columns", {})
    if not isinstance(columns, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        problems.append(
            Problem(
                source=name,
                column=f"{role}.columns",
                message='must map expected names to your columns: customer_id = "account"',
            )
        )
        columns = {}
    source = value.get(given[0]) if given else None
    if source is not None and "path" in value:
        # Paths in the file are relative to the file, not to wherever nrr is run from.
        source = str((Path(name).parent / str(source)).resolve())
    fmt = value.get("format")
    return InputSpec(
        source=None if source is None else str(source),
        format=None if fmt is None else str(fmt),
        columns={k.lower(): v.lower() for k, v in columns.items()},
    )
