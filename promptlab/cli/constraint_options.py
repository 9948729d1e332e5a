"""``--regex / --choice / --json-schema / --grammar``: one constraint from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from promptlab.cli.common import fail
from promptlab.constraints import Choice, Constraint, Grammar, JsonSchema, Regex

__all__ = ["MAX_CONSTRAINT_FILE_BYTES", "constraint_from_options"]

MAX_CONSTRAINT_FILE_BYTES = 1 << 20
"""A schema or grammar file larger than this is refused, not read."""


def constraint_from_options(
    regex: str | None, choice: str | None, json_schema: Path | None, grammar: Path | None
) -> Constraint | None:
    """The one constraint the options give (None: no option), or exit 2 naming the problem."""
    given = [name for name, value in (("--regex", regex), ("--choice", choice), ("--json-schema", json_schema),
                                      ("--grammar", grammar)) if value is not None]
    if len(given) > 1:
        fail(f"give at most one constraint, not {' and '.join(given)}")
    if regex is not None:
        return Regex(pattern=regex)
    if choice is not None:
        return Choice(options=tuple(option for option in choice.split(",") if option))
    if json_schema is not None:
        try:
            schema = json.loads(_read(json_schema))
        except json.JSONDecodeError as exc:
            fail(f"--json-schema {str(json_schema)!r} is not JSON: {exc}")
        if not isinstance(schema, dict):
            fail(f"--json-schema {str(json_schema)!r} must hold a JSON object (a schema)")
        return JsonSchema.of(schema)
    if grammar is not None:
        text = _read(grammar)
        return Grammar.from_gbnf(text) if grammar.suffix == ".gbnf" else Grammar(lark=text)
    return None


def _read(path: Path) -> str:
    """A small UTF-8 file, read with a size bound."""
    with path.open("rb") as source:
        data = source.read(MAX_CONSTRAINT_FILE_BYTES + 1)
    if len(data) > MAX_CONSTRAINT_FILE_BYTES:
        fail(f"{str(path)!r} is larger than {MAX_CONSTRAINT_FILE_BYTES} bytes: not a schema or grammar")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{str(path)!r} is not UTF-8 text")
