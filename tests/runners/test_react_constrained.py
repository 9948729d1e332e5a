"""ReAct reasons free and constrains late: the thought runs free, the action (or JSON call) is constrained."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from promptlab.backends.llamacpp import LlamaCppBackend
from promptlab.constraints import Regex
from promptlab.errors import ConfigError
from promptlab.runners import ChatReActRunner, ReActRunner, ToolCallingReActRunner
from promptlab.runners.react_json import FINISH_SCHEMA
from promptlab.runners.slots import action_constraint, tool_call_constraint
from promptlab.tools import LocalWikipedia, ToolRegistry, WikipediaEnv, wikipedia_tools
from tests.runners.test_constrain_late import ConstrainingMock, PlainMock


def _wiki_tools() -> list[Any]:
    return wikipedia_tools("http://127.0.0.1:9/w/api.php")


def test_react_thought_runs_free_then_the_action_is_constrained() -> None:
    backend = ConstrainingMock([" I should look it up.\nAction 1: Search[x]", " Finish[Paris]"])
    runner = ReActRunner(backend, tools=_wiki_tools, constrained=None)
    assert runner.constrained
    result = runner.run("What is the capital of France?")
    assert (result.answer, result.status) == ("Paris", "ok")
    thought, action = backend.configs
    assert thought.constraint is None and "\nAction" in thought.stop
    assert action.constraint == action_constraint(ToolRegistry(_wiki_tools()))
    assert backend.prompts[1].endswith("Thought 1: I should look it up.\nAction 1:")
    assert [s.kind for s in result.trace.steps] == ["generate", "action"]
    assert result.trace.steps[1].data["thought"] == "I should look it up."


def test_react_act_only_constrains_the_first_call() -> None:
    backend = ConstrainingMock([" Finish[Paris]"])
    runner = ReActRunner(backend, tools=_wiki_tools, think=False, constrained=True)
    result = runner.run("What is the capital of France?")
    assert result.answer == "Paris" and isinstance(backend.configs[0].constraint, Regex)


def test_react_unconstrained_keeps_one_call_per_step() -> None:
    backend = ConstrainingMock([" Paris it is.\nAction 1: Finish[Paris]"])
    runner = ReActRunner(backend, tools=_wiki_tools, constrained=False)
    assert runner.run("What is the capital of France?").answer == "Paris"
    assert len(backend.configs) == 1 and backend.configs[0].constraint is None
    assert not ReActRunner(PlainMock(), tools=_wiki_tools, constrained=None).constrained
    assert not ReActRunner(ConstrainingMock([]), tools=_wiki_tools).constrained  # opt-in (see BENCHMARKS.md)


def test_json_react_replies_under_the_tools_schemas() -> None:
    backend = ConstrainingMock(['{"thought": "known", "tool": "finish", "arguments": {"answer": "Paris"}}'])
    backend.capabilities = dataclasses.replace(backend.capabilities, constraints=frozenset({"json_schema"}))
    result = ChatReActRunner(backend, tools=_wiki_tools, constrained=True).run("What is the capital of France?")
    assert result.answer == "Paris"
    assert backend.configs[0].constraint == tool_call_constraint(ToolRegistry(_wiki_tools()), FINISH_SCHEMA)


def test_native_tool_calls_are_not_constrained_here() -> None:
    with pytest.raises(ConfigError, match="ChatReActRunner"):
        ToolCallingReActRunner(ConstrainingMock([]), tools=_wiki_tools, constrained=True)


@pytest.mark.slow
def test_every_constrained_action_of_the_embedded_model_names_a_tool(llamacpp_backend: LlamaCppBackend) -> None:
    pages = {"Nicholas Ray": "Nicholas Ray was an American film director. He directed Rebel Without a Cause."}
    with LocalWikipedia(pages) as wiki:
        runner = ReActRunner(llamacpp_backend, tools=lambda: WikipediaEnv(wiki.api_url).tools(), constrained=True,
                             max_steps=3)
        result = runner.run("What was Nicholas Ray's profession?")
    actions = [step for step in result.trace.steps if step.kind == "action"]
    assert actions
    for step in actions:
        assert step.action is not None and step.action["tool"] in ("Search", "Lookup", "Finish")


def test_a_runner_built_on_a_config_holding_a_json_schema_works() -> None:
    from promptlab import MockBackend, ReActRunner
    from promptlab.config import GenerationConfig
    from promptlab.constraints import JsonSchema

    config = GenerationConfig(constraint=JsonSchema.of({"type": "object"}), max_new_tokens=8)
    runner = ReActRunner(MockBackend(default=" done\nAction 1: Finish[yes]"), config=config, tools=[])
    assert runner.max_steps == 7
