"""Constraints for the late slots: ReAct action lines, JSON tool calls, CoT answers; the constrained= switch."""

from __future__ import annotations

import dataclasses

import pytest

from promptlab.backends import MockBackend
from promptlab.constraints import Grammar, Regex
from promptlab.errors import ConfigError, UnsupportedKnobError
from promptlab.prompts.library import TemplateLibrary
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners.react_json import FINISH_SCHEMA
from promptlab.runners.slots import (
    action_constraint,
    answer_constraint,
    tool_call_constraint,
    use_constraints,
)
from promptlab.tools import ToolRegistry, tool, wikipedia_tools
from tests.runners.grammar_matching import Acceptor


@tool
def convert(value: float, unit: str) -> str:
    """Convert a length to metres."""
    return f"{value} {unit}"


@tool
def square(number: int) -> str:
    """Square a whole number."""
    return str(number * number)


def _wiki() -> ToolRegistry:
    return ToolRegistry(wikipedia_tools("http://127.0.0.1:9/w/api.php"))


class _Unconstrained(MockBackend):
    capabilities = dataclasses.replace(MockBackend.capabilities, constraints=frozenset())


class _Constrained(MockBackend):
    capabilities = dataclasses.replace(MockBackend.capabilities, constraints=frozenset({"regex", "grammar"}))


def test_paper_actions_are_a_regex_over_the_registered_tools() -> None:
    constraint = action_constraint(_wiki())
    assert isinstance(constraint, Regex)
    action = Acceptor(constraint)
    for good in (" Search[Colorado orogeny]", "Lookup[eastern sector]", " Finish[1,800 to 7,000 ft]"):
        assert action.accepts(good), good
    for bad in (" Search[Colorado orogeny", "Search[]", " search[x]", " Calculate[2+2]", " Search[a]\nObservation",
                " I think Search[x]", "Search[" + "x" * 121 + "]", " Search[a[b]]"):
        assert not action.accepts(bad), bad


def test_tools_with_several_arguments_take_a_json_object_valid_for_their_schema() -> None:
    constraint = action_constraint(ToolRegistry([*wikipedia_tools("http://127.0.0.1:9/w/api.php"), convert, square]))
    assert isinstance(constraint, Grammar)
    action = Acceptor(constraint)
    assert action.accepts(' Convert[{"value": 3.5, "unit": "km"}]')
    assert action.accepts(" Square[12]") and action.accepts(" Search[Paris]") and action.accepts("Finish[yes]")
    assert not action.accepts(' Convert[{"value": "three", "unit": "km"}]')
    assert not action.accepts(' Convert[{"value": 3}]')
    assert not action.accepts(" Square[twelve]")


def test_json_tool_calls_follow_the_tools_schemas_thought_first() -> None:
    call = Acceptor(tool_call_constraint(ToolRegistry([convert]), FINISH_SCHEMA))
    assert call.accepts('{"thought": "metres", "tool": "convert", "arguments": {"value": 2, "unit": "km"}}')
    assert call.accepts('{"thought": "done", "tool": "finish", "arguments": {"answer": "2000"}}')
    assert not call.accepts('{"tool": "convert", "arguments": {"value": 2, "unit": "km"}}')
    assert not call.accepts('{"thought": "", "tool": "search", "arguments": {"entity": "x"}}')
    assert not call.accepts('{"thought": "", "tool": "convert", "arguments": {"value": 2}}')


def test_cot_answer_slot_comes_from_the_template() -> None:
    cue, slot = answer_constraint(TemplateLibrary.default().get("cot")) or ("", Regex(pattern=""))
    assert cue == "The answer is"
    answer = Acceptor(slot)
    assert answer.accepts(" 8.") and answer.accepts(" $1,450,000.") and answer.accepts(" -3.5.")
    assert not answer.accepts(" 8 apples.") and not answer.accepts(" eight.") and not answer.accepts(" 8")
    assert answer_constraint(PromptTemplate.from_string("Q: {{ question }}")) is None


def test_a_half_declared_answer_slot_is_a_config_error() -> None:
    source = "{#-\ninputs:\n  question: Q.\nmetadata:\n  answer_cue: The answer is\n-#}\nQ: {{ question }}"
    template = PromptTemplate.from_string(source)
    with pytest.raises(ConfigError, match="answer_regex"):
        answer_constraint(template)


def test_auto_follows_the_backend_and_true_insists() -> None:
    assert use_constraints(None, _Constrained(), {"regex"}, "R") is True
    assert use_constraints(None, _Unconstrained(), {"regex"}, "R") is False
    assert use_constraints(False, _Constrained(), {"regex"}, "R") is False
    with pytest.raises(UnsupportedKnobError, match=r"regex.*constrained=True"):
        use_constraints(True, _Unconstrained(), {"regex"}, "R")
