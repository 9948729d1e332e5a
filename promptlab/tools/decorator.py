"""``@tool``: build a :class:`Tool` from a typed function.

The argument model comes from the type hints, each argument's description from the
docstring's ``Args:`` section (Google style) or ``:param name:`` lines, and the tool's
description from the docstring's text before that section::

    @tool
    def word_count(text: str, unique: bool = False) -> int:
        '''Count the words in a text.

        Args:
            text: the text to count.
            unique: count each distinct word once.
        '''
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, Field, create_model

from promptlab.errors import ToolError
from promptlab.tools.base import Observation, Tool

__all__ = ["FunctionTool", "parse_docstring", "tool"]

_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?)\s*:\s*$")
_GOOGLE_ARG = re.compile(r"^\s+(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_ARG = re.compile(r"^\s*:param\s+(?:\w+\s+)?(\w+)\s*:\s*(.*)$")


class FunctionTool(Tool[BaseModel]):
    """A tool that calls a plain Python function with its validated arguments."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None,
                 timeout_s: float | None = None) -> None:
        summary, arg_docs = parse_docstring(inspect.getdoc(fn) or "")
        self.fn = fn
        self.name = name or fn.__name__
        self.description = description or summary or self.name
        self.args_model = _args_model(fn, self.name, arg_docs)
        self.timeout_s = timeout_s
        self._fields = tuple(self.args_model.model_fields)

    def run(self, args: BaseModel) -> str | Observation:
        result = self.fn(**{name: getattr(args, name) for name in self._fields})
        if isinstance(result, (str, Observation)):
            return result
        try:
            return json.dumps(result, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(result)


@overload
def tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout_s: float | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    fn: Callable[..., Any] | None = None, /, *, name: str | None = None, description: str | None = None,
    timeout_s: float | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Turn a typed function into a :class:`Tool` (``@tool`` or ``@tool(name=..., timeout_s=...)``)."""
    if fn is not None:
        return FunctionTool(fn)

    def decorate(func: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(func, name=name, description=description, timeout_s=timeout_s)

    return decorate


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a docstring into its summary text and ``{argument: description}``."""
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    for line in doc.splitlines():
        if match := _SECTION.match(line):
            section, current = match.group(1).lower(), None
            continue
        if match := _SPHINX_ARG.match(line):
            current = match.group(1)
            args[current] = match.group(2).strip()
            section = "args"
            continue
        if section in ("args", "arguments", "parameters"):
            if match := _GOOGLE_ARG.match(line):
                current = match.group(1)
                args[current] = match.group(2).strip()
            elif current and line.strip():
                args[current] = f"{args[current]} {line.strip()}".strip()
        elif section is None:
            summary.append(line)
    return "\n".join(summary).strip(), args


def _args_model(fn: Callable[..., Any], name: str, docs: dict[str, str]) -> type[BaseModel]:
    try:
        hints = get_type_hints(fn)
    except (NameError, TypeError) as exc:
        raise ToolError(f"tool {name!r}: could not read its type hints: {exc}") from exc
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolError(f"tool {name!r}: *args and **kwargs cannot be described to a model; name each argument")
        if param.name not in hints:
            raise ToolError(f"tool {name!r}: argument {param.name!r} needs a type hint")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints[param.name], Field(default, description=docs.get(param.name)))
    model_name = "".join(part.title() for part in re.split(r"\W+|_", name) if part) + "Args"
    return create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)
