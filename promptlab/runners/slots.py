"""Reason free, constrain late: the constraints for the slots a runner fills after free reasoning.

Constraining a small model's whole output costs accuracy (Tam et al., 2024, "Let Me Speak
Freely?"); constraining only the slot that a program reads helps (ToolDec, Zhang et al.,
2023). So the runners let the reasoning run free and constrain only:

- a ReAct action line to the registered tools and their argument shape (:func:`action_constraint`);
- a JSON tool call to the tools' JSON schemas (:func:`tool_call_constraint`);
- a chain-of-thought's final answer sentence (:func:`answer_constraint`, from the template);
- a PAL program to the shape of ``def solution():`` (:mod:`promptlab.runners.pal_grammar`).

:func:`use_constraints` decides, for a runner's ``constrained=`` option, whether to apply them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from promptlab.backends.base import Backend
from promptlab.constraints import Grammar, JsonSchema, Regex
from promptlab.errors import ConfigError, UnsupportedKnobError
from promptlab.prompts.templates import PromptTemplate
from promptlab.tools import Tool, ToolRegistry

__all__ = ["ARGUMENT_CHARS", "FINISH_ACTION", "action_constraint", "action_name", "answer_constraint",
           "tool_call_constraint", "use_constraints"]

ARGUMENT_CHARS = 120
"""Longest text argument in a constrained action: short enough that the ``]`` always comes."""
FINISH_ACTION = "Finish"
_TEXT = f"[^\\[\\]\\n]{{1,{ARGUMENT_CHARS}}}"
_SCALARS = {"string": _TEXT, "integer": "-?[0-9]{1,18}", "number": "-?[0-9]{1,18}(\\.[0-9]{1,12})?"}


def use_constraints(constrained: bool | None, backend: Backend, kinds: set[str], runner: str) -> bool:
    """Whether a runner constrains its slots: ``None`` (auto) when the backend honours ``kinds``.

    ``True`` on a backend that cannot honour them raises :class:`UnsupportedKnobError` now,
    naming the backend and the kinds, rather than at the first model call.
    """
    supported = kinds <= backend.capabilities.constraints
    if constrained is None:
        return supported
    if constrained and not supported:
        missing = ", ".join(sorted(kinds - backend.capabilities.constraints))
        raise UnsupportedKnobError(backend.name, f"constraint {missing!r}",
                                   f"{runner}(constrained=True) needs it; pass constrained=False or None")
    return constrained


def action_name(item: Tool[Any]) -> str:
    """How an action names a tool in the text format: the name with a capital, ``Search``."""
    return item.name[:1].upper() + item.name[1:]


def action_constraint(tools: ToolRegistry) -> Regex | Grammar:
    """The text of one action line after ``Action i:``: ``Tool[argument]`` for a registered tool or Finish.

    A tool with one string, integer or number argument takes it bare (``Search[Paris]``);
    a tool with several arguments takes a JSON object valid against its schema
    (``Convert[{"value": 3, "unit": "km"}]``). One leading space is allowed.
    Returns a :class:`Regex` when every tool takes a bare argument, else a :class:`Grammar`.
    """
    scalars = {item: _scalar_pattern(item) for item in tools}
    if all(pattern is not None for pattern in scalars.values()):
        branches = [f"{re.escape(action_name(item))}\\[{pattern}\\]" for item, pattern in scalars.items()]
        branches.append(f"{FINISH_ACTION}\\[{_TEXT}\\]")
        return Regex(pattern=f" ?({'|'.join(branches)})")
    rules, alternatives = [], []
    for number, (item, pattern) in enumerate(scalars.items()):
        opener = json.dumps(f"{action_name(item)}[")
        if pattern is None:
            rules.append(f"args{number}: %json {json.dumps(item.parameters_schema())}")
            alternatives.append(f'{opener} args{number} "]"')
        else:
            rules.append(f"ARG{number}: /{pattern}/")
            alternatives.append(f'{opener} ARG{number} "]"')
    alternatives.append(f'"{FINISH_ACTION}[" TEXT "]"')
    lark = "\n".join([f'start: " "? ({" | ".join(alternatives)})', *rules, f"TEXT: /{_TEXT}/"])
    return Grammar(lark=lark)


def tool_call_constraint(tools: ToolRegistry, finish: dict[str, Any]) -> JsonSchema:
    """One JSON tool call, ``{"thought": ..., "tool": NAME, "arguments": {...}}``, valid for one tool.

    ``finish`` is the finish action in OpenAI's function format. The thought comes first,
    so the model reasons (inside the string) before it names the tool.
    """
    functions = [item.json_schema()["function"] for item in tools] + [finish["function"]]
    calls = [{
        "type": "object",
        "properties": {"thought": {"type": "string"}, "tool": {"const": function["name"]},
                       "arguments": function.get("parameters") or {"type": "object"}},
        "required": ["thought", "tool", "arguments"],
        "additionalProperties": False,
    } for function in functions]
    return JsonSchema(json_schema={"anyOf": calls})


def answer_constraint(template: PromptTemplate) -> tuple[str, Regex] | None:
    """The answer cue and the answer slot's pattern a template declares, or None.

    A template opts in with metadata ``answer_cue`` (the words that introduce the final
    answer, e.g. ``The answer is``) and ``answer_regex`` (what follows them).
    """
    cue, pattern = template.metadata.get("answer_cue"), template.metadata.get("answer_regex")
    if cue is None and pattern is None:
        return None
    if not isinstance(cue, str) or not cue or not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"template {template.name!r}: answer_cue and answer_regex must both be "
                          "non-empty strings to constrain the answer")
    return cue, Regex(pattern=pattern)


def _scalar_pattern(item: Tool[Any]) -> str | None:
    """The bare-argument pattern of a tool with one scalar argument ("" for none), else None."""
    properties = item.parameters_schema().get("properties", {})
    if not properties:
        return ""
    if len(properties) > 1:
        return None
    kind = next(iter(properties.values())).get("type")
    return _SCALARS.get(kind) if isinstance(kind, str) else None
