"""Output constraints: a regular expression, a choice, a JSON schema or a grammar.

A constraint is a field of :class:`~promptlab.config.GenerationConfig`, like any knob:
declared per call, validated once when built (a bad pattern, schema or grammar is a
:class:`~promptlab.errors.ConfigError`), honoured by the engine or refused with
:class:`~promptlab.errors.UnsupportedKnobError`, and checked on the way back where an
engine could have ignored it (:meth:`Constraint.check`).

Every kind compiles to one llguidance grammar (:meth:`to_llguidance`), the engine the
in-process backends apply as a token mask; servers receive the constraint in their own
dialect.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ALL_CONSTRAINT_KINDS", "Choice", "Constraint", "ConstraintKind", "Grammar", "JsonSchema", "Regex"]

ConstraintKind = Literal["regex", "choice", "json_schema", "grammar"]
ALL_CONSTRAINT_KINDS: frozenset[str] = frozenset({"regex", "choice", "json_schema", "grammar"})


class _Constraint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def describe(self) -> str:
        """A short human-readable form for error messages."""
        raise NotImplementedError


class Regex(_Constraint):
    """The whole completion matches ``pattern`` (anchored at both ends)."""

    kind: Literal["regex"] = "regex"
    pattern: str

    def describe(self) -> str:
        return f"regex {self.pattern!r}"


class Choice(_Constraint):
    """The completion is exactly one of ``options``."""

    kind: Literal["choice"] = "choice"
    options: tuple[str, ...]

    def describe(self) -> str:
        return f"choice of {list(self.options)!r}"


class JsonSchema(_Constraint):
    """The completion is one JSON value valid against ``json_schema``.

    Build it from a pydantic model class with :meth:`of`.
    """

    kind: Literal["json_schema"] = "json_schema"
    json_schema: dict[str, Any]

    @classmethod
    def of(cls, schema: type[BaseModel] | dict[str, Any]) -> JsonSchema:
        """A constraint from a pydantic model class or a JSON-schema dict."""
        if isinstance(schema, dict):
            return cls(json_schema=schema)
        return cls(json_schema=schema.model_json_schema())

    def describe(self) -> str:
        title = self.json_schema.get("title")
        return f"JSON schema {title!r}" if title else "JSON schema"


class Grammar(_Constraint):
    """A context-free grammar in Lark syntax, as llguidance reads it (start rule ``start``)."""

    kind: Literal["grammar"] = "grammar"
    lark: str

    def describe(self) -> str:
        first = self.lark.strip().splitlines()[0] if self.lark.strip() else ""
        return f"grammar ({first[:40]}...)"


Constraint = Annotated[Regex | Choice | JsonSchema | Grammar, Field(discriminator="kind")]
"""One of the constraint kinds; ``GenerationConfig.constraint`` holds at most one."""
