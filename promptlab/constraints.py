"""Output constraints: a regular expression, a choice, a JSON schema or a grammar.

A constraint is a field of :class:`~promptlab.config.GenerationConfig`, like any knob:
declared per call, validated once when built (a bad pattern, schema or grammar is a
:class:`~promptlab.errors.ConfigError` naming the position or the unsupported feature),
honoured by the engine or refused with :class:`~promptlab.errors.UnsupportedKnobError`,
and checked on the way back where an engine could have ignored it (:meth:`check`).

Every kind compiles to one llguidance grammar (:meth:`to_llguidance`), the engine the
in-process backends apply as a token mask; servers receive the constraint in their own
dialect. :meth:`check` runs the same grammar over the text's bytes, so it accepts exactly
the texts a constrained engine can produce, in time linear in the text's length.

Regular expressions use Rust ``regex`` syntax (llguidance's): no look-around and no
back-references (refused when built); ``\\d`` and ``\\w`` are Unicode-aware, as in Python.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from promptlab.errors import ConfigError, ConstraintViolationError

__all__ = ["ALL_CONSTRAINT_KINDS", "Choice", "Constraint", "ConstraintKind", "Grammar", "JsonSchema", "Regex"]

ConstraintKind = Literal["regex", "choice", "json_schema", "grammar"]
ALL_CONSTRAINT_KINDS: frozenset[str] = frozenset({"regex", "choice", "json_schema", "grammar"})


class _Constraint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None

    def describe(self) -> str:
        """A short human-readable form for error messages."""
        raise NotImplementedError

    def to_llguidance(self) -> str:
        """The grammar llguidance's ``LLMatcher`` takes."""
        raise NotImplementedError

    def check(self, text: str) -> bool:
        """Whether ``text`` is a complete match of the constraint (linear in ``len(text)``)."""
        return _match(self.to_llguidance(), text)[1]

    def allows_prefix(self, text: str) -> bool:
        """Whether ``text`` can still be completed into a match (what a cut-off completion must satisfy)."""
        return _match(self.to_llguidance(), text)[0]

    def verify(self, text: str, *, complete: bool, source: str) -> None:
        """Raise :class:`ConstraintViolationError` unless ``text`` matches (``complete``) or can still match.

        ``source`` says who produced the text, for the message (``"the server"``, ``"mock response"``).
        """
        if (self.check(text) if complete else self.allows_prefix(text)):
            return
        shown = text if len(text) <= 200 else text[:200] + "..."
        what = "does not match" if complete else "cannot be completed into a match of"
        raise ConstraintViolationError(
            f"{source} produced {shown!r}, which {what} the {self.describe()}", text=text, constraint=self.describe()
        )

    def _problem(self) -> str | None:
        """Why llguidance cannot compile this constraint (None: it can)."""
        from llguidance import LLMatcher

        try:
            grammar = self.to_llguidance()
        except ValueError as exc:
            return str(exc)
        message = LLMatcher.validate_grammar(grammar)
        return message or None

    @model_validator(mode="after")
    def _compiles(self) -> Self:
        problem = self._problem()
        if problem is not None:
            raise ValueError(self._explain(problem))
        return self

    def _explain(self, message: str) -> str:
        return f"{self.describe()} is invalid: {_one_line(message)}"


class Regex(_Constraint):
    """The whole completion matches ``pattern`` (anchored at both ends; Rust ``regex`` syntax)."""

    kind: Literal["regex"] = "regex"
    pattern: str

    def describe(self) -> str:
        return f"regex {self.pattern!r}"

    def to_llguidance(self) -> str:
        from llguidance import LLMatcher

        return str(LLMatcher.grammar_from_regex(self.pattern))

    def _explain(self, message: str) -> str:
        return f"{self.describe()} is invalid: {_regex_error(message)}"


class Choice(_Constraint):
    """The completion is exactly one of ``options``."""

    kind: Literal["choice"] = "choice"
    options: tuple[str, ...] = Field(min_length=1)

    def describe(self) -> str:
        return f"choice of {list(self.options)!r}"

    def to_llguidance(self) -> str:
        from llguidance import LLMatcher

        return str(LLMatcher.grammar_from_lark(self.to_lark()))

    def to_lark(self) -> str:
        """The choice as a one-rule Lark grammar (JSON string escapes are Lark's)."""
        return "start: " + " | ".join(json.dumps(option) for option in self.options)


class JsonSchema(_Constraint):
    """The completion is one JSON value valid against ``json_schema``.

    Engines under this constraint put no whitespace around the value; :meth:`check` also
    accepts JSON whitespace around it (as JSON does), which some servers' grammars emit.

    Build it from a pydantic model class with :meth:`of`.
    """

    kind: Literal["json_schema"] = "json_schema"
    json_schema: dict[str, Any]

    @classmethod
    def of(cls, schema: type[BaseModel] | dict[str, Any]) -> JsonSchema:
        """A constraint from a pydantic model class or a JSON-schema dict.

        A model's objects are closed (``additionalProperties: false`` unless the model says
        otherwise): keys the model does not declare would be dropped by validation anyway, and
        a small model otherwise wanders into invented keys until ``max_new_tokens`` runs out.
        """
        if isinstance(schema, dict):
            return cls(json_schema=schema)
        return cls(json_schema=_closed_objects(schema.model_json_schema()))

    def describe(self) -> str:
        title = self.json_schema.get("title")
        return f"JSON schema {title!r}" if title else "JSON schema"

    def to_llguidance(self) -> str:
        from llguidance import LLMatcher

        return str(LLMatcher.grammar_from_json_schema(self.json_schema))

    def check(self, text: str) -> bool:
        return super().check(text.strip(_JSON_SPACE))

    def allows_prefix(self, text: str) -> bool:
        return super().allows_prefix(text.lstrip(_JSON_SPACE))

    def _explain(self, message: str) -> str:
        detail = _one_line(message)
        if detail.startswith("Unimplemented keys"):
            detail = f"unsupported schema feature(s) {detail.partition(':')[2].strip()}"
        return f"{self.describe()} cannot be enforced: {detail}"


class Grammar(_Constraint):
    """A context-free grammar in Lark syntax, as llguidance reads it (start rule ``start``).

    ``gbnf`` keeps the original text of a grammar built with :meth:`from_gbnf`, so a server
    that takes GBNF (llama.cpp's) receives it verbatim.
    """

    kind: Literal["grammar"] = "grammar"
    lark: str
    gbnf: str | None = None

    @classmethod
    def from_gbnf(cls, text: str) -> Grammar:
        """A grammar from GBNF (llama.cpp's format, start rule ``root``), converted to Lark.

        A GBNF feature the converter does not translate is a :class:`ConfigError` naming the position.
        """
        from llguidance.gbnf_to_lark import gbnf_to_lark

        try:
            lark = gbnf_to_lark(text)
        except Exception as exc:  # the converter raises bare Exception for unknown rules
            raise ConfigError(f"GBNF grammar cannot be converted: {_one_line(str(exc))}") from None
        return cls(lark=lark, gbnf=text)

    def describe(self) -> str:
        source = self.gbnf if self.gbnf is not None else self.lark
        first = next((line.strip() for line in source.splitlines() if line.strip()), "")
        return f"grammar ({first[:40]}...)" if len(first) > 40 else f"grammar ({first})"

    def to_llguidance(self) -> str:
        from llguidance import LLMatcher

        return str(LLMatcher.grammar_from_lark(self.lark))

    def _explain(self, message: str) -> str:
        return f"{self.describe()} is invalid: {_grammar_error(message)}"


Constraint = Annotated[Regex | Choice | JsonSchema | Grammar, Field(discriminator="kind")]
"""One of the constraint kinds; ``GenerationConfig.constraint`` holds at most one."""


# --------------------------------------------------------------------------- checking
class _Bytes:
    """A tokenizer whose tokens are the 256 bytes (and an end token): llguidance over raw text."""

    def __init__(self) -> None:
        self.eos_token_id = 256
        self.bos_token_id = None
        self.tokens = [bytes([b]) for b in range(256)] + [b"\xff<eos>"]
        self.special_token_ids = [256]

    def __call__(self, text: str | bytes) -> list[int]:
        return list(text if isinstance(text, bytes) else text.encode("utf-8"))


@functools.cache
def _byte_tokenizer() -> Any:
    from llguidance import LLTokenizer, TokenizerWrapper

    return LLTokenizer(TokenizerWrapper(_Bytes()))


def _match(grammar: str, text: str) -> tuple[bool, bool]:
    """(text is a viable prefix, text is a complete match) under ``grammar``.

    llguidance bounds the work per byte (lexer fuel, Earley items), so this is linear.
    """
    from llguidance import LLMatcher

    matcher = LLMatcher(_byte_tokenizer(), grammar, log_level=0)
    viable = matcher.consume_tokens(list(text.encode("utf-8"))) and not matcher.is_error()
    return viable, viable and matcher.is_accepting()


# ----------------------------------------------------------------------------- errors
_JSON_SPACE = " \t\n\r"
_POSITION = re.compile(r"^(?:at )?(\d+)\((\d+)\): ")


def _one_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "rejected by llguidance"


def _regex_error(message: str) -> str:
    """``error: unclosed group at character 2`` from the regex crate's caret display."""
    lines = message.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if "regex parse error" in line)
        caret = lines[start + 2].index("^") - 4
        error = next(line for line in lines[start:] if line.startswith("error: "))
    except (StopIteration, IndexError, ValueError):
        return _one_line(message)
    return f"{error.removeprefix('error: ')} at character {caret + 1}"


def _grammar_error(message: str) -> str:
    """``line 2, column 6: unknown name "bar"`` from llguidance's ``at 2(6): ...``."""
    first = _one_line(message)
    found = _POSITION.match(first)
    if found is None:
        return first
    return f"line {found[1]}, column {found[2]}: {first[found.end():]}"


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in error["loc"])
        parts.append(f"{field}: {message}" if field else message)
    return "invalid constraint: " + "; ".join(parts)


def _closed_objects(node: Any) -> Any:
    """A copy of a JSON schema where every object with declared properties allows no others."""
    if isinstance(node, list):
        return [_closed_objects(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            closed[key] = {name: _closed_objects(sub) for name, sub in value.items()}
        elif key in _DATA_KEYS:
            closed[key] = value
        else:
            closed[key] = _closed_objects(value)
    if "properties" in node and "additionalProperties" not in node:
        closed["additionalProperties"] = False
    return closed


_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
"""Keys whose value maps names to schemas (the mapping itself is not a schema)."""
_DATA_KEYS = frozenset({"default", "examples", "const", "enum"})
"""Keys whose value is JSON data, not a schema."""
