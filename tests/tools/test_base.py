"""The Tool contract: argument coercion, error observations, timeouts, schema export."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import BaseModel, Field

from promptlab.errors import ToolError
from promptlab.tools import Observation, Tool, ToolArgumentError, ToolRegistry, tool


class PairArgs(BaseModel):
    a: int = Field(description="first")
    b: int = 2


class Adder(Tool[PairArgs]):
    name = "add"
    description = "Add two integers."
    args_model = PairArgs

    def run(self, args: PairArgs) -> str:
        return str(args.a + args.b)


class EchoArgs(BaseModel):
    text: str


class Echo(Tool[EchoArgs]):
    name = "echo"
    description = "Echo the text."
    args_model = EchoArgs

    def run(self, args: EchoArgs) -> str:
        return args.text


def test_arguments_as_dict_json_or_text() -> None:
    assert Adder().invoke({"a": 1, "b": 5}).text == "6"
    assert Adder().invoke('{"a": 3}').text == "5"
    assert Adder().invoke("7").text == "9"  # one required field takes a bare string
    assert Echo().invoke("  hello ").text == "  hello "


def test_text_that_is_not_a_json_object_goes_to_the_single_field() -> None:
    assert Echo().invoke('{"not": json').text == '{"not": json'
    assert Echo().invoke("[1, 2]").text == "[1, 2]"


def test_invalid_arguments_become_an_observation_naming_the_field() -> None:
    observation = Adder().invoke({"a": "x"})
    assert observation.kind == "invalid_arguments"
    assert not observation.ok
    assert "a:" in observation.text and "add(a: integer, b: integer)" in observation.text


def test_several_required_fields_need_json() -> None:
    class Both(BaseModel):
        x: int
        y: int

    class Pair(Tool[Both]):
        name, description, args_model = "pair", "two", Both

        def run(self, args: Both) -> str:
            return "ok"

    observation = Pair().invoke("1, 2")
    assert observation.kind == "invalid_arguments"
    assert "JSON object" in observation.text
    with pytest.raises(ToolArgumentError):
        Pair().parse_arguments("1, 2")


def test_a_raising_tool_gives_an_error_observation() -> None:
    @tool
    def explode(x: int) -> str:
        """Always fails."""
        raise RuntimeError(f"boom {x}")

    observation = explode.invoke({"x": 3})
    assert observation.kind == "error"
    assert "RuntimeError: boom 3" in observation.text


def test_a_slow_tool_times_out_and_the_next_call_works() -> None:
    release = threading.Event()

    @tool(timeout_s=0.2)
    def wait(seconds: float) -> str:
        """Sleeps, or waits to be released."""
        if seconds < 0:
            release.wait(10)
            return "released"
        time.sleep(seconds)
        return f"slept {seconds}"

    started = time.perf_counter()
    observation = wait.invoke({"seconds": -1})
    assert observation.kind == "timeout"
    assert time.perf_counter() - started < 2
    assert "timed out after 0.2 s" in observation.text
    assert wait.invoke({"seconds": 0.01}).text == "slept 0.01"  # a fresh worker, not the stuck one
    release.set()


def test_observation_returned_by_a_tool_keeps_its_kind_and_data() -> None:
    @tool
    def lookup(key: str) -> Observation:
        """Finds a key."""
        return Observation("missing", "error", data={"key": key})

    observation = lookup.invoke("k")
    assert (observation.kind, observation.data) == ("error", {"key": "k"})


def test_json_schema_is_in_openai_function_format() -> None:
    schema = Adder().json_schema()
    assert schema["type"] == "function"
    function = schema["function"]
    assert function["name"] == "add" and function["description"] == "Add two integers."
    parameters = function["parameters"]
    assert parameters["type"] == "object"
    assert parameters["required"] == ["a"]
    assert parameters["properties"]["a"] == {"type": "integer", "description": "first"}
    assert "title" not in parameters and "title" not in parameters["properties"]["b"]


def test_registry_looks_up_names_loosely_and_corrects_unknown_ones() -> None:
    registry = ToolRegistry([Adder(), Echo()])
    assert registry.names == ["add", "echo"]
    assert "ADD" in registry and "E-cho" in registry and "mul" not in registry
    assert registry.invoke("Add", {"a": 1}).text == "3"
    unknown = registry.invoke("multiply", "2")
    assert unknown.kind == "unknown_tool"
    assert unknown.text == "Unknown tool 'multiply'. Available tools: add, echo."
    assert len(registry.json_schemas()) == 2
    assert registry.describe().splitlines()[0] == "add(a: integer, b: integer): Add two integers."


def test_registry_rejects_duplicates() -> None:
    registry = ToolRegistry([Adder()])
    with pytest.raises(ToolError, match="already registered"):
        registry.add(Adder())


def test_registry_reset_reaches_every_tool() -> None:
    resets: list[str] = []

    class Stateful(Echo):
        def reset(self) -> None:
            resets.append(self.name)

    ToolRegistry([Stateful(), Adder()]).reset()
    assert resets == ["echo"]


def test_bounded_calls_leave_no_threads_behind() -> None:
    @tool(timeout_s=5)
    def quick(x: int) -> int:
        """Doubles."""
        return 2 * x

    before = threading.active_count()
    assert [quick.invoke({"x": i}).text for i in range(30)] == [str(2 * i) for i in range(30)]
    time.sleep(0.05)
    assert threading.active_count() <= before + 1
