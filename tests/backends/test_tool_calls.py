"""Tool calls in process: the template's syntax is rendered, parsed back and checked against the schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlab.backends import MockBackend
from promptlab.backends.tool_calls import SYNTAXES, checked_call, syntax_of_template
from promptlab.errors import ConfigError, UnsupportedKnobError

TEMPLATES = Path(__file__).resolve().parents[1] / "data" / "reference" / "chat_templates"
QWEN = (TEMPLATES / "official" / "qwen2.5-instruct.jinja").read_text(encoding="utf-8")
LLAMA31 = (TEMPLATES / "tool_use" / "meta-llama-Llama-3.1-8B-Instruct.jinja").read_text(encoding="utf-8")
CALCULATOR = {"type": "function", "function": {
    "name": "calculator", "description": "Evaluate an arithmetic expression.",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}
TOOLS = [CALCULATOR]
QUESTION = [{"role": "user", "content": "What is 6 times 7?"}]


def hermes(name: str, arguments: object) -> str:
    return f'<tool_call>\n{json.dumps({"name": name, "arguments": arguments})}\n</tool_call>'


def test_hermes_calls_are_parsed_and_the_text_around_them_kept() -> None:
    text, calls = SYNTAXES["hermes"].parse("Let me compute.\n" + hermes("calculator", {"expression": "6*7"}), TOOLS)
    assert text == "Let me compute."
    assert [(c.id, c.name, c.arguments, c.error) for c in calls] == [("call_0", "calculator", {"expression": "6*7"},
                                                                      None)]


def test_llama3_calls_with_python_tag_and_several_calls() -> None:
    reply = '<|python_tag|>{"name": "calculator", "parameters": {"expression": "1+1"}}; ' \
            '{"name": "calculator", "parameters": {"expression": "2+2"}}'
    text, calls = SYNTAXES["llama3"].parse(reply, TOOLS)
    assert text == "" and [c.arguments for c in calls] == [{"expression": "1+1"}, {"expression": "2+2"}]
    assert SYNTAXES["llama3"].parse("It is 42.", TOOLS) == ("It is 42.", ())


@pytest.mark.parametrize(("reply", "error"), [
    (hermes("weather", {"city": "Paris"}), "there is no tool 'weather'; the tools are: calculator"),
    (hermes("calculator", {"expr": "1"}), "'expression' is a required property"),
    (hermes("calculator", {"expression": 6}), "at 'expression': 6 is not of type 'string'"),
    (hermes("calculator", ["6*7"]), "must be a JSON object"),
    ('<tool_call>\n{"name": "calculator", "arguments": {"expression": \n</tool_call>', "is not valid JSON"),
    ('<tool_call>\n{"arguments": {}}\n</tool_call>', 'a tool call must be {"name"'),
])
def test_bad_calls_carry_an_error_and_never_raise(reply: str, error: str) -> None:
    _, (call,) = SYNTAXES["hermes"].parse(reply, TOOLS)
    assert call.error is not None and error in call.error


def test_server_style_arguments_are_a_json_string() -> None:
    assert checked_call("c1", "calculator", '{"expression": "1"}', TOOLS).arguments == {"expression": "1"}
    bad = checked_call("c1", "calculator", "{expression: 1}", TOOLS)
    assert bad.arguments is None and bad.arguments_json == "{expression: 1}" and "not valid JSON" in (bad.error or "")


def test_the_grammar_admits_only_the_chosen_tool() -> None:
    other = {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}
    grammar = SYNTAXES["hermes"].grammar([CALCULATOR, other], "calculator")
    assert grammar.startswith('start: "<tool_call>\\n" call "\\n</tool_call>"')
    schema = json.loads(grammar.split("%json ", 1)[1])
    assert schema["properties"]["name"] == {"const": "calculator"}
    assert "anyOf" in json.loads(SYNTAXES["llama3"].grammar([CALCULATOR, other], "required").split("%json ", 1)[1])


def test_chat_with_tools_renders_them_and_parses_the_reply() -> None:
    mock = MockBackend([hermes("calculator", {"expression": "6*7"})], chat_template=QWEN)
    reply = mock.chat(QUESTION, tools=TOOLS)[0]
    assert reply.finish_reason == "tool_calls" and reply.text == ""
    assert reply.tool_calls[0].arguments == {"expression": "6*7"}
    assert mock.prompts == [mock.format_chat(QUESTION, tools=TOOLS)]
    assert '<tools>\n{"type": "function", "function": {"name": "calculator"' in mock.prompts[0]


def test_a_plain_reply_has_no_tool_calls() -> None:
    reply = MockBackend(["It is 42."], chat_template=LLAMA31).chat(QUESTION, tools=TOOLS)[0]
    assert (reply.text, reply.tool_calls, reply.finish_reason) == ("It is 42.", (), "eos")


def test_a_template_without_tools_is_one_clear_error() -> None:
    mock = MockBackend(["x"])
    assert not mock.tool_calling
    with pytest.raises(UnsupportedKnobError, match=r"ChatML-style\) has no tool-call syntax; pass tool_format='json'"):
        mock.chat(QUESTION, tools=TOOLS)
    assert mock.chat(QUESTION, tools=TOOLS, tool_choice="none")[0].text == "x"


def test_the_json_fallback_describes_the_tools_in_the_system_message() -> None:
    mock = MockBackend(['{"name": "calculator", "arguments": {"expression": "6*7"}}'], tool_format="json")
    assert mock.tool_calling
    reply = mock.chat([{"role": "system", "content": "Be brief."}, *QUESTION], tools=TOOLS)[0]
    assert reply.tool_calls[0].name == "calculator"
    system = mock.prompts[0].split("<|im_end|>")[0]
    assert system.startswith("<|im_start|>system\nBe brief.\n\nYou can call these tools.")
    assert '"name": "calculator"' in system


def test_the_json_fallback_writes_earlier_calls_and_results_as_text() -> None:
    call = checked_call("call_0", "calculator", {"expression": "6*7"}, TOOLS)
    conversation = [*QUESTION, {"role": "assistant", "content": "", "tool_calls": [call]},
                    {"role": "tool", "content": "42", "tool_call_id": "call_0", "name": "calculator"}]
    prompt = MockBackend(tool_format="json").format_chat(conversation, tools=TOOLS)
    assert '<|im_start|>assistant\n{"name": "calculator", "arguments": {"expression": "6*7"}}<|im_end|>' in prompt
    assert "<|im_start|>user\nResult of calculator: 42<|im_end|>" in prompt


def test_unknown_tool_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown tool_format 'xml'; choose one of auto, hermes, llama3, json"):
        MockBackend(tool_format="xml")


def test_templates_without_tools_have_no_syntax() -> None:
    assert syntax_of_template(MockBackend().chat_template) is None
    assert syntax_of_template(QWEN) is SYNTAXES["hermes"] and syntax_of_template(LLAMA31) is SYNTAXES["llama3"]
