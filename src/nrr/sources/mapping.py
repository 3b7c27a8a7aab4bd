"""Column mapping: the user's column names -> the names an input format expects."""

from __future__ import annotations

from dataclasses import replace

from nrr import sqltext
from nrr.errors import InputError, Problem
from nrr.sources.files import ROW, RawSource

__all__ = ["apply_mapping", "check_mapping", "parse_mapping"]


def parse_mapping(pairs: list[str] | None, *, flag: str = "--map") -> dict[str, str]:
    """`["customer_id=account", "amount=price"]` -> {"customer_id": "account", ...}."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        wanted, sep, given = pair.partition("=")
        if not sep or not wanted.strip() or not given.strip():
            raise InputError(
                Problem(
                    source=flag,
                    message=f"{pair!r} is not NAME=COLUMN (e.g. customer_id=account_id)",
                )
            )
        name = wanted.strip().lower()
        if name in mapping:
            raise InputError(
                Problem(
                    source=flag,
                    message=f"{name} is mapped twice ({name}={mapping[name]} and {pair.strip()}); "
                    "map each name once",
                )
            )
        mapping[name] = given.strip().lower()
    return mapping


def check_mapping(mapping: object, *, source: str = "--map") -> dict[str, str]:
    """`mapping` as lower-case names, if it maps names to distinct columns (text to text).

    Two expected names read from one column would give the input two columns of one name
    (and one column cannot be both the amount and the quantity), so that is refused."""
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip()
        for k, v in mapping.items()
    ):
        raise InputError(
            Problem(
                source=source,
                message=f"{mapping!r} is not a mapping of expected names to your column names, "
                'such as {"customer_id": "account_id"}',
            )
        )
    lowered = {k.strip().lower(): v.strip().lower() for k, v in mapping.items()}
    if len(lowered) != len(mapping):
        raise InputError(
            Problem(source=source, message=f"{mapping!r} maps one name twice; map each once")
        )
    readers: dict[str, list[str]] = {}
    for wanted, given in lowered.items():
        readers.setdefault(given, []).append(wanted)
    for given, wanted in readers.items():
        if len(wanted) > 1:
            raise InputError(
                Problem(
                    source=source,
                    message=f"column {given!r} is mapped to {' and '.join(wanted)}; "
                    "map each of your columns to one name",
                )
            )
    return lowered


def apply_mapping(raw: RawSource, mapping: dict[str, str]) -> tuple[RawSource, dict[str, str]]:
    """Rename source columns to the expected names; return the source and, for messages,
    expected name -> the user's column name."""
    mapping = check_mapping(mapping)
    if not mapping:
        return raw, {}
    missing = [given for given in mapping.values() if given not in raw.columns]
    if missing:
        have = ", ".join(c for c in raw.columns if c != ROW)
        raise InputError(
            Problem(
                source=raw.name,
                message=f"the column mapping names {', '.join(repr(m) for m in missing)}, which "
                f"the input does not have (found: {have})",
            )
        )
    sources = set(mapping.values())
    # A column that already has an expected name but is not the mapped one steps aside, so
    # the mapped column is the only one read under that name.
    kept = [c for c in raw.columns if c in sources or c not in mapping]
    names = {given: wanted for wanted, given in mapping.items()}
    aside = {c: f"{c}__unmapped" for c in kept if c in mapping and c not in sources}
    renamed = {c: names.get(c, aside.get(c, c)) for c in kept}
    select = ", ".join(
        f"{sqltext.identifier(c)} AS {sqltext.identifier(new)}" for c, new in renamed.items()
    )
    relation = f'SELECT "{ROW}", {select} FROM ({raw.relation}) AS unmapped'
    columns = tuple(renamed.values())
    unnumbered = None
    if raw.unnumbered is not None:
        careful = raw.unnumbered.careful
        unnumbered = replace(raw.unnumbered, careful=lambda: apply_mapping(careful(), mapping)[0])
    mapped = RawSource(
        name=raw.name, relation=relation, columns=columns, unnumbered=unnumbered, spaced=raw.spaced
    )
    return mapped, dict(mapping)
