"""ChatReActRunner: JSON tool calls in a chat conversation."""

from __future__ import annotations

import json

from promptlab.backends import MockBackend
from promptlab.runners.react_json import ChatReActRunner
from promptlab.runners.react_parse import parse_tool_call
from promptlab.tools import Calculator, LocalWikipedia, WikipediaEnv


def test_parse_tool_call_finds_the_json_in_a_reply() -> None:
    call = parse_tool_call('Sure!\n```json\n{"thought": "add", "tool": "calculator", "arguments": {"expression": '
                           '"1+1"}}\n```')
    assert (call.name, call.argument, call.thought) == ("calculator", {"expression": "1+1"}, "add")
    assert parse_tool_call("Search[Paris]").argument == "Paris"  # the text format still works


def test_chat_loop_with_json_calls() -> None:
    mock = MockBackend([
        '{"thought": "I need the midpoint.", "tool": "calculator", "arguments": {"expression": "(1800 + 7000) / 2"}}',
        '{"thought": "That is it.", "tool": "finish", "arguments": {"answer": "4400"}}',
    ])
    runner = ChatReActRunner(mock, tools=[Calculator()])
    result = runner.run("Midpoint of 1,800 and 7,000?")
    assert (result.answer, result.status) == ("4400", "ok")
    first, second = mock.prompts
    assert first == mock.format_chat(runner.messages("Midpoint of 1,800 and 7,000?"))
    system = runner.messages("q")[0].content
    schemas = json.loads(system[system.index("Tools:\n") + len("Tools:\n"):])
    assert [s["function"]["name"] for s in schemas] == ["calculator", "finish"]
    assert second.startswith(first)
    assert "<|im_start|>user\nObservation: 4400<|im_end|>" in second
    step = result.trace.steps[0]
    assert step.action == {"tool": "calculator", "argument": {"expression": "(1800 + 7000) / 2"}}
    assert step.data["thought"] == "I need the midpoint."
    assert result.trace.strategy == "react_json"


def test_chat_loop_corrects_bad_json_and_unknown_tools() -> None:
    mock = MockBackend([
        '{"tool": "calculator", "arguments": {"expression": ',
        '{"tool": "weather", "arguments": {}}',
        '{"tool": "calculator", "arguments": {"expr": "1"}}',
        '{"tool": "finish", "arguments": {"answer": "done"}}',
    ])
    result = ChatReActRunner(mock, tools=[Calculator()]).run("q?")
    assert result.answer == "done"
    bad_json, unknown, invalid = (s.observation or "" for s in result.trace.steps[:3])
    assert bad_json.startswith("The action looks like JSON but is not valid")
    assert 'Valid tools: calculator, finish. Reply with one JSON object: {"tool": NAME' in bad_json
    assert unknown.startswith("Invalid action: there is no tool 'weather'.")
    assert "expression: Field required" in invalid


def test_chat_loop_with_the_wikipedia_tools() -> None:
    mock = MockBackend(['{"tool": "search", "arguments": {"entity": "Paris"}}',
                        '{"tool": "lookup", "arguments": {"keyword": "capital"}}',
                        '{"tool": "finish", "arguments": {"answer": "France"}}'])
    with LocalWikipedia({"Paris": "Paris is the capital of France. It is large."}) as wiki:
        result = ChatReActRunner(mock, tools=lambda: WikipediaEnv(wiki.api_url).tools()).run("Where is Paris?")
    assert [s.observation for s in result.trace.steps[:2]] == [
        "Paris is the capital of France. It is large..", "(Result 1 / 1) Paris is the capital of France."]
    assert result.answer == "France"


def test_prompt_is_the_first_conversation_in_the_chat_template() -> None:
    mock = MockBackend(['{"tool": "finish", "arguments": {"answer": "x"}}'])
    runner = ChatReActRunner(mock, tools=[Calculator()])
    runner.run("q?")
    assert mock.prompts == [runner.prompt("q?")]
    assert runner.prompt("q?").endswith("<|im_start|>user\nq?<|im_end|>\n<|im_start|>assistant\n")
