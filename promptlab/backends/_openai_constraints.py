"""A constraint in each server dialect's own words, or a refusal naming backend, dialect and kind.

- ``vllm``: ``structured_outputs`` with ``regex``, ``choice``, ``json`` or ``grammar`` (GBNF source, else Lark).
- ``sglang``: ``regex`` (a choice as an escaped alternation), ``json_schema`` (chat: ``response_format``),
  ``ebnf`` (GBNF source only).
- ``llama-cpp``: ``grammar`` in GBNF for a choice, a GBNF grammar, and a JSON schema (llama.cpp's own
  converter; ``json_schema`` when llama-cpp-python is not installed); regular expressions are refused.
- ``openai``: ``response_format`` with a strict JSON schema; every other kind is refused.

Lark is never translated to GBNF: only a grammar built with ``Grammar.from_gbnf`` reaches a
GBNF-only server, verbatim. The client checks every completion anyway (servers can ignore
fields they do not know).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from promptlab.constraints import Choice, Constraint, Grammar, JsonSchema, Regex
from promptlab.errors import UnsupportedKnobError

Endpoint = Literal["completions", "chat"]

CARRIED: dict[str, frozenset[str]] = {
    "vllm": frozenset({"regex", "choice", "json_schema", "grammar"}),
    "sglang": frozenset({"regex", "choice", "json_schema", "grammar"}),
    "llama-cpp": frozenset({"choice", "json_schema", "grammar"}),
    "openai": frozenset({"json_schema"}),
}
"""Constraint kinds each dialect can carry (a Lark-only grammar is refused per request where noted)."""


def constraint_fields(constraint: Constraint, dialect: str, endpoint: Endpoint, backend: str) -> dict[str, Any]:
    """The request-body fields carrying ``constraint`` in ``dialect``; :class:`UnsupportedKnobError` if it cannot."""
    if dialect == "vllm":
        return {"structured_outputs": _vllm(constraint)}
    if dialect == "sglang":
        return _sglang(constraint, endpoint, backend)
    if dialect == "llama-cpp":
        return _llama_cpp(constraint, backend)
    if dialect == "openai" and isinstance(constraint, JsonSchema):
        return {"response_format": _response_format(constraint)}
    raise _refuse(backend, dialect, constraint, "use dialect='vllm', or a local backend (llamacpp, hf)")


def _vllm(constraint: Constraint) -> dict[str, Any]:
    if isinstance(constraint, Regex):
        return {"regex": constraint.pattern}
    if isinstance(constraint, Choice):
        return {"choice": list(constraint.options)}
    if isinstance(constraint, JsonSchema):
        return {"json": constraint.json_schema}
    return {"grammar": constraint.gbnf if constraint.gbnf is not None else constraint.lark}


def _sglang(constraint: Constraint, endpoint: Endpoint, backend: str) -> dict[str, Any]:
    if isinstance(constraint, Regex):
        return {"regex": constraint.pattern}
    if isinstance(constraint, Choice):
        return {"regex": "(" + "|".join(re.escape(option) for option in constraint.options) + ")"}
    if isinstance(constraint, JsonSchema):
        if endpoint == "chat":
            return {"response_format": _response_format(constraint)}
        return {"json_schema": json.dumps(constraint.json_schema)}
    return {"ebnf": _gbnf_source(constraint, backend, "sglang")}


def _llama_cpp(constraint: Constraint, backend: str) -> dict[str, Any]:
    if isinstance(constraint, Choice):
        options = (json.dumps(option, ensure_ascii=False) for option in constraint.options)
        return {"grammar": "root ::= " + " | ".join(options)}
    if isinstance(constraint, JsonSchema):
        try:  # llama.cpp's own converter, as its server applies to "json_schema"; llama-cpp-python needs GBNF
            from llama_cpp.llama_grammar import json_schema_to_gbnf
        except ImportError:
            return {"json_schema": constraint.json_schema}
        return {"grammar": json_schema_to_gbnf(json.dumps(constraint.json_schema))}
    if isinstance(constraint, Grammar):
        return {"grammar": _gbnf_source(constraint, backend, "llama-cpp")}
    raise _refuse(backend, "llama-cpp", constraint, "llama.cpp's server takes GBNF: use Grammar.from_gbnf(...)")


def _gbnf_source(grammar: Grammar, backend: str, dialect: str) -> str:
    if grammar.gbnf is None:
        raise _refuse(
            backend, dialect, grammar,
            "this server takes GBNF and a Lark grammar is not translated: build it with Grammar.from_gbnf(...)",
        )
    return grammar.gbnf


def _response_format(constraint: JsonSchema) -> dict[str, Any]:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", str(constraint.json_schema.get("title") or "output"))[:64]
    return {"type": "json_schema", "json_schema": {"name": name, "schema": constraint.json_schema, "strict": True}}


def _refuse(backend: str, dialect: str, constraint: Constraint, hint: str) -> UnsupportedKnobError:
    kind = "Lark grammar" if isinstance(constraint, Grammar) else constraint.kind
    message = f"the {dialect!r} server dialect cannot carry it; {hint}"
    return UnsupportedKnobError(backend, f"constraint {kind!r}", message)
