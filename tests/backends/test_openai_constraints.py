"""Constraints over HTTP: each dialect's own words, refusals naming backend/dialect/kind, client-side checks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from promptlab.backends.openai import OpenAIBackend
from promptlab.constraints import Choice, Grammar, JsonSchema, Regex
from promptlab.errors import ConstraintViolationError, UnsupportedKnobError
from tests.backends.fake_openai import FakeServer, completion

URL = "http://fake.test/v1"
YES_NO = Choice(options=("yes", "no"))
GBNF = Grammar.from_gbnf('root ::= "yes" | "no"')
LARK = Grammar(lark='start: "yes" | "no"')
POINT = JsonSchema.of({"title": "Point", "type": "object", "properties": {"x": {"type": "integer"}},
                       "required": ["x"]})


def sent(dialect: str, constraint: Any, reply: str = "yes", *, use_chat: bool = False) -> dict[str, Any]:
    server = FakeServer(httpx.Response(200, json=completion(reply)))
    llm = OpenAIBackend(URL, transport=server.transport, dialect=dialect, model="m", use_chat=use_chat)
    if use_chat:
        server.script = [httpx.Response(200, json={"choices": [{"index": 0, "message": {"content": reply},
                                                                "finish_reason": "stop"}]})]
    llm.complete("Q", constraint=constraint)
    return server.bodies[0]


@pytest.mark.parametrize(
    ("constraint", "reply", "field"),
    [
        (Regex(pattern="y.s"), "yes", {"regex": "y.s"}),
        (YES_NO, "no", {"choice": ["yes", "no"]}),
        (POINT, '{"x": 1}', {"json": POINT.json_schema}),
        (LARK, "yes", {"grammar": LARK.lark}),
        (GBNF, "yes", {"grammar": GBNF.gbnf}),
    ],
)
def test_vllm_gets_structured_outputs(constraint: Any, reply: str, field: dict[str, Any]) -> None:
    assert sent("vllm", constraint, reply)["structured_outputs"] == field


def test_sglang_gets_its_own_fields() -> None:
    assert sent("sglang", Regex(pattern="y.s"))["regex"] == "y.s"
    assert sent("sglang", Choice(options=("a.b", "yes")))["regex"] == r"(a\.b|yes)"
    assert sent("sglang", POINT, '{"x": 1}')["json_schema"] == '{"title": "Point", "type": "object", ' \
        '"properties": {"x": {"type": "integer"}}, "required": ["x"]}'
    assert sent("sglang", GBNF)["ebnf"] == GBNF.gbnf
    assert sent("sglang", POINT, '{"x": 1}', use_chat=True)["response_format"]["json_schema"]["schema"] == \
        POINT.json_schema


def test_llama_cpp_gets_gbnf() -> None:
    assert sent("llama-cpp", YES_NO)["grammar"] == 'root ::= "yes" | "no"'
    assert sent("llama-cpp", GBNF)["grammar"] == GBNF.gbnf
    assert "root ::=" in sent("llama-cpp", POINT, '{"x": 1}')["grammar"]  # llama.cpp's own schema converter


def test_openai_gets_a_strict_json_schema_response_format() -> None:
    body = sent("openai", POINT, '{"x": 1}')
    assert body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "Point", "schema": POINT.json_schema, "strict": True}}


@pytest.mark.parametrize(
    ("dialect", "constraint", "message"),
    [
        ("openai", YES_NO, r"'openai' does not support \"constraint 'choice'\".*'openai' server dialect"),
        ("openai", Regex(pattern="x"), r"constraint 'regex'"),
        ("llama-cpp", Regex(pattern="x"), r"constraint 'regex'.*'llama-cpp' server dialect"),
        ("llama-cpp", LARK, r"constraint 'Lark grammar'.*'llama-cpp'.*Grammar.from_gbnf"),
        ("sglang", LARK, r"constraint 'Lark grammar'.*'sglang'"),
    ],
)
def test_a_kind_a_dialect_cannot_carry_is_refused_before_sending(dialect: str, constraint: Any, message: str) -> None:
    server = FakeServer(httpx.Response(200, json=completion("yes")))
    llm = OpenAIBackend(URL, transport=server.transport, dialect=dialect, model="m")
    with pytest.raises(UnsupportedKnobError, match=message):
        llm.complete("Q", constraint=constraint)
    assert not server.bodies


def test_a_server_that_ignores_the_constraint_is_caught() -> None:
    server = FakeServer(httpx.Response(200, json=completion("maybe")))
    llm = OpenAIBackend(URL, transport=server.transport, dialect="vllm", model="m")
    with pytest.raises(ConstraintViolationError, match=r"the server at .* produced 'maybe'.*choice") as raised:
        llm.complete("Q", constraint=YES_NO)
    assert raised.value.text == "maybe"


def test_a_cut_off_completion_only_needs_to_be_a_viable_prefix() -> None:
    server = FakeServer(httpx.Response(200, json=completion("ye", finish="length")))
    llm = OpenAIBackend(URL, transport=server.transport, dialect="vllm", model="m")
    assert llm.complete("Q", constraint=YES_NO).finish_reason == "length"
    server.script = [httpx.Response(200, json=completion("ma", finish="length"))]
    with pytest.raises(ConstraintViolationError, match="cannot be completed"):
        llm.complete("Q", constraint=YES_NO)


# ------------------------------------------------------------------ the real llama.cpp servers
class Answer(BaseModel):
    city: str
    sure: bool


@pytest.fixture(params=["openai_backend", "llama_server_backend"], ids=["llama_cpp.server", "llama-server"])
def server(request: pytest.FixtureRequest) -> OpenAIBackend:
    """llama-cpp-python's server and llama.cpp's own: both take GBNF ``grammar`` and ``json_schema``."""
    backend: OpenAIBackend = request.getfixturevalue(request.param)
    return backend


@pytest.mark.slow
def test_llama_server_honours_a_json_schema(server: OpenAIBackend) -> None:
    answer = server.generate_structured("The capital of France, as JSON:", Answer, max_new_tokens=60)
    assert isinstance(answer.value, Answer)
    with pytest.raises(ConstraintViolationError, match="cut off"):
        server.generate_structured("The capital of France, as JSON:", Answer, max_new_tokens=3)


@pytest.mark.slow
def test_llama_server_honours_a_gbnf_grammar_and_a_choice(server: OpenAIBackend) -> None:
    grammar = Grammar.from_gbnf('root ::= "Action: " ("Search" | "Finish") "[" [a-z ]+ "]"')
    completion = server.complete("Question: Who directed Rebel Without a Cause?\n", max_new_tokens=30,
                                         constraint=grammar)
    assert grammar.check(completion.text), completion.text
    choice = Choice(options=("Paris", "Lyon"))
    assert server.complete("The capital of France is", max_new_tokens=8, constraint=choice).text in \
        choice.options


@pytest.mark.slow
def test_llama_server_chat_structured(server: OpenAIBackend) -> None:
    messages = [{"role": "user", "content": "Give the capital of France as JSON with keys city and sure."}]
    assert isinstance(server.chat_structured(messages, Answer, max_new_tokens=60).value, Answer)
