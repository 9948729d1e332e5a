"""Tool calls over the OpenAI API: tools and tool_choice sent, tool_calls read (whole and streamed) and checked."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from promptlab.backends import OpenAIBackend
from promptlab.chat import Message
from promptlab.runners import DirectRunner, ToolCallingReActRunner, chat_react_runner
from promptlab.tools import Calculator
from tests.backends.fake_openai import FakeServer, sse

URL = "http://fake.test/v1"
CALCULATOR = Calculator().json_schema()
QUESTION = [{"role": "user", "content": "What is 6 times 7?"}]


def backend(server: FakeServer) -> OpenAIBackend:
    return OpenAIBackend(URL, transport=server.transport, max_retries=0, backoff=0)


def call(name: str, arguments: Any, call_id: str | None = "call_a", index: int = 0) -> dict[str, Any]:
    part: dict[str, Any] = {"index": index, "type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        part["id"] = call_id
    return part


def reply(*calls: dict[str, Any], content: str | None = None) -> httpx.Response:
    message = {"role": "assistant", "content": content, "tool_calls": list(calls)}
    return httpx.Response(200, json={"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]})


def test_tools_and_tool_choice_are_sent_and_calls_read_back() -> None:
    server = FakeServer(reply(call("calculator", '{"expression": "6*7"}')))
    llm = backend(server)
    result = llm.chat(QUESTION, tools=[CALCULATOR], tool_choice="calculator")[0]
    assert (result.finish_reason, result.text) == ("tool_calls", "")
    (made,) = result.tool_calls
    assert (made.id, made.name, made.arguments, made.error) == ("call_a", "calculator", {"expression": "6*7"}, None)
    body = server.bodies[0]
    assert body["tools"] == [CALCULATOR]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "calculator"}}
    llm.chat(QUESTION, tools=[CALCULATOR], tool_choice="required")
    assert server.bodies[1]["tool_choice"] == "required"
    llm.chat(QUESTION)
    assert "tools" not in server.bodies[2] and "tool_choice" not in server.bodies[2]


@pytest.mark.parametrize(("sent", "error"), [
    (call("calculator", '{"expression": "6*7"}', call_id=None), "without an id (it is called call_0 here)"),
    (call("calculator", "{expression: 6*7}"), "are not valid JSON"),
    (call("calculator", '["6*7"]'), "must be a JSON object"),
    (call("weather", "{}"), "there is no tool 'weather'"),
    (call("calculator", '{"expression": 42}'), "at 'expression': 42 is not of type 'string'"),
    ({"index": 0, "id": "c", "type": "function", "function": {"arguments": "{}"}}, "names no tool"),
    ("garbage", "names no tool"),
])
def test_bad_calls_from_a_server_carry_an_error(sent: Any, error: str) -> None:
    result = backend(FakeServer(reply(sent))).chat(QUESTION, tools=[CALCULATOR])[0]
    (made,) = result.tool_calls
    assert made.error is not None and error in made.error


def streamed_calls(*deltas: dict[str, Any]) -> httpx.Response:
    events: list[dict[str, Any]] = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": None},
                                                  "finish_reason": None}]}]
    events += [{"choices": [{"index": 0, "delta": {"tool_calls": [d]}, "finish_reason": None}]} for d in deltas]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(*events))


@pytest.mark.parametrize("repeat_name", [False, True], ids=["openai", "llama-cpp-python"])
def test_streamed_tool_call_deltas_are_joined(repeat_name: bool) -> None:
    pieces = ['{"expr', 'ession": ', '"6*7"}']
    deltas = [call("calculator", pieces[0])] + [
        {"index": 0, "function": {"name": "calculator", "arguments": p} if repeat_name else {"arguments": p}}
        for p in pieces[1:]]
    server = FakeServer(streamed_calls(*deltas))
    result = backend(server).chat(QUESTION, tools=[CALCULATOR], stop=["\nObservation:"])[0]
    assert server.bodies[0]["stream"] is True  # stops make the call streamed
    (made,) = result.tool_calls
    assert (made.id, made.name, made.arguments, made.error) == ("call_a", "calculator", {"expression": "6*7"}, None)
    assert result.finish_reason == "tool_calls"


def test_tool_turns_go_back_in_the_openai_form() -> None:
    server = FakeServer(httpx.Response(200, json={"choices": [{"index": 0, "message": {"content": "42"},
                                                               "finish_reason": "stop"}]}))
    made = backend(FakeServer(reply(call("calculator", '{"expression": "6*7"}')))).chat(
        QUESTION, tools=[CALCULATOR])[0].tool_calls[0]
    conversation = [*QUESTION, Message(role="assistant", tool_calls=(made,)),
                    Message(role="tool", content="42", tool_call_id="call_a", name="calculator")]
    backend(server).chat(conversation, tools=[CALCULATOR])
    assert server.bodies[0]["messages"][1:] == [
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "calculator", "arguments": '{"expression": "6*7"}'}}]},
        {"role": "tool", "content": "42", "tool_call_id": "call_a", "name": "calculator"},
    ]


def test_native_react_on_a_server_answers_tool_results_by_id() -> None:
    server = FakeServer(reply(call("calculator", '{"expression": "6*7"}', call_id=None)),
                        reply(call("calculator", '{"expression": "6*7"}')),
                        reply(call("finish", '{"answer": "42"}', call_id="call_b")))
    llm = backend(server)
    runner = chat_react_runner(llm, tools=[Calculator()])
    assert isinstance(runner, ToolCallingReActRunner)
    result = runner.run("What is 6 times 7?")
    assert (result.answer, result.status) == ("42", "ok")
    no_id, ok = result.trace.steps[:2]
    assert "without an id" in (no_id.observation or "") and no_id.data["sent"]["tool_calls"][0]["id"] == "call_0"
    assert ok.observation == "42"
    last = server.bodies[-1]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert last[-1] == {"role": "tool", "content": "42", "tool_call_id": "call_a", "name": "calculator"}
    first_line = (result.trace.steps[0].prompt or "").split("\n", 1)[0]
    assert json.loads(first_line)["tools"][0]["function"]["name"] == "calculator"  # the trace shows what was sent


def test_a_chat_template_runner_sends_messages_to_a_server() -> None:
    events = [{"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]} for text in ("12", "\n")]
    server = FakeServer(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(*events)))
    result = DirectRunner(backend(server), template="pal_chat").run("Tom has 5 apples and buys 7. How many?")
    assert result.answer == "12"
    assert server.paths[-1] == "/v1/chat/completions"
    assert [m["role"] for m in server.bodies[0]["messages"]] == ["system", "user"]
    assert '{"role": "system", "content": "You will write python program' in (result.trace.steps[0].prompt or "")


def _text_reply(content: str) -> httpx.Response:
    message = {"role": "assistant", "content": content}
    return httpx.Response(200, json={"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})


def test_json_tool_format_describes_the_tools_and_constrains_a_forced_call() -> None:
    server = FakeServer(_text_reply('{"name": "calculator", "arguments": {"expression": "6*7"}}'),
                        _text_reply("It is 42."))
    llm = OpenAIBackend(URL, transport=server.transport, max_retries=0, backoff=0, dialect="llama-cpp",
                        tool_format="json")
    forced = llm.chat(QUESTION, tools=[CALCULATOR], tool_choice="required")[0]
    (made,) = forced.tool_calls
    assert (forced.finish_reason, made.name, made.arguments, made.error) == (
        "tool_calls", "calculator", {"expression": "6*7"}, None)
    body = server.bodies[0]
    assert "tools" not in body and "tool_choice" not in body
    assert '"calculator"' in body["messages"][0]["content"] and body["messages"][0]["role"] == "system"
    assert 'name ::= "\\"calculator\\""' in body["grammar"]  # the call's JSON schema, as GBNF in this dialect
    free = llm.chat(QUESTION, tools=[CALCULATOR], tool_choice="auto")[0]  # not forced: no constraint, prose allowed
    assert (free.text, free.tool_calls) == ("It is 42.", ())
    assert "json_schema" not in server.bodies[1] and "grammar" not in server.bodies[1]


def test_a_tool_format_a_server_cannot_use_is_refused() -> None:
    from promptlab.errors import BackendSpecError

    with pytest.raises(BackendSpecError, match=r"tool_format 'hermes'.*'auto'.*'json'"):
        OpenAIBackend(URL, tool_format="hermes")


def test_json_tool_format_sends_no_tools_when_none_may_be_called_and_refuses_an_unknown_choice() -> None:
    from promptlab.errors import ConfigError

    server = FakeServer(_text_reply('{"name": "calculator", "arguments": {"expression": "1"}}'))
    llm = OpenAIBackend(URL, transport=server.transport, max_retries=0, backoff=0, dialect="llama-cpp",
                        tool_format="json")
    reply = llm.chat(QUESTION, tools=[CALCULATOR], tool_choice="none")[0]
    assert reply.tool_calls == () and "calculator" not in str(server.bodies[0]["messages"])
    with pytest.raises(ConfigError, match="tool_choice='weather' names no tool offered; the tools are: calculator"):
        llm.chat(QUESTION, tools=[CALCULATOR], tool_choice="weather")
