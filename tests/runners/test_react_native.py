"""The native tool-calling ReAct variant, and the chooser between it and JSON-in-text."""

from __future__ import annotations

import json
from pathlib import Path

from promptlab.backends import MockBackend
from promptlab.runners.react_json import ChatReActRunner
from promptlab.runners.react_native import ToolCallingReActRunner, chat_react_runner
from promptlab.tools import Calculator

QWEN = (Path(__file__).resolve().parents[1] / "data" / "reference" / "chat_templates" / "official"
        / "qwen2.5-instruct.jinja").read_text(encoding="utf-8")
QUESTION = "What is 6 times 7?"


def hermes(name: str, arguments: object) -> str:
    return f'<tool_call>\n{json.dumps({"name": name, "arguments": arguments})}\n</tool_call>'


def test_native_loop_calls_the_tool_and_finishes() -> None:
    mock = MockBackend([hermes("calculator", {"expression": "6*7"}), hermes("finish", {"answer": "42"})],
                       chat_template=QWEN)
    runner = ToolCallingReActRunner(mock, tools=[Calculator()])
    result = runner.run(QUESTION)
    assert (result.answer, result.status, result.trace.strategy) == ("42", "ok", "react_native")
    first, second = mock.prompts
    assert first == runner.prompt(QUESTION)
    assert '"name": "finish"' in first and '"name": "calculator"' in first  # the tools, rendered by the template
    # the call and its result go back as the template's own tool turns
    assert second.startswith(first)
    assert second.endswith('<|im_start|>assistant\n<tool_call>\n{"name": "calculator", "arguments": '
                           '{"expression": "6*7"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n42\n'
                           "</tool_response><|im_end|>\n<|im_start|>assistant\n")
    step = result.trace.steps[0]
    assert step.action == {"tool": "calculator", "argument": {"expression": "6*7"}} and step.observation == "42"
    assert step.data["sent"]["tool_calls"][0]["id"] == "call_0"


def test_a_plain_reply_is_the_answer() -> None:
    result = ToolCallingReActRunner(MockBackend(["42"], chat_template=QWEN), tools=[Calculator()]).run(QUESTION)
    assert (result.answer, result.status) == ("42", "ok")


def test_bad_calls_become_error_observations_and_the_loop_goes_on() -> None:
    mock = MockBackend([
        hermes("weather", {"city": "Paris"}),
        hermes("calculator", {"expr": "6*7"}),
        '<tool_call>\n{"name": "calculator", "arguments": {"expression": \n</tool_call>',
        "",
        hermes("finish", {"answer": "42"}),
    ], chat_template=QWEN)
    result = ToolCallingReActRunner(mock, tools=[Calculator()]).run(QUESTION)
    assert (result.answer, result.status) == ("42", "ok")
    unknown, schema, malformed, empty = result.trace.steps[:4]
    assert (unknown.observation or "").startswith("Invalid tool call: there is no tool 'weather'")
    assert "Call one of the tools: calculator, finish." in (unknown.observation or "")
    assert "'expression' is a required property" in (schema.observation or "")
    assert "is not valid JSON" in (malformed.observation or "")
    assert (empty.observation or "").startswith("The reply has neither a tool call nor an answer.")
    # the trace keeps what the model sent
    assert unknown.data["sent"]["tool_calls"][0]["arguments"] == {"city": "Paris"}
    assert malformed.data["sent"]["tool_calls"][0]["arguments_json"].startswith('{"name": "calculator"')
    # an answerable call is answered by id; a call without a name as a user turn
    assert '<tool_response>\nInvalid tool call: there is no tool' in mock.prompts[1]
    assert "<|im_start|>user\nInvalid tool call: the tool call is not valid JSON" in mock.prompts[3]


def test_the_chooser_picks_native_calls_where_the_backend_takes_tools() -> None:
    assert isinstance(chat_react_runner(MockBackend(chat_template=QWEN), tools=[Calculator()]),
                      ToolCallingReActRunner)
    assert isinstance(chat_react_runner(MockBackend(tool_format="json"), tools=[Calculator()]),
                      ToolCallingReActRunner)
    assert type(chat_react_runner(MockBackend(), tools=[Calculator()])) is ChatReActRunner


def test_the_async_face_runs_the_same_loop() -> None:
    import asyncio

    mock = MockBackend([hermes("calculator", {"expression": "6*7"}), hermes("finish", {"answer": "42"})],
                       chat_template=QWEN)
    result = asyncio.run(ToolCallingReActRunner(mock, tools=[Calculator()]).arun(QUESTION))
    assert (result.answer, [s.observation for s in result.trace.steps][:1]) == ("42", ["42"])
