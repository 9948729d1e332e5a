"""``@tool``: schemas from type hints and docstrings."""

from __future__ import annotations

from typing import Literal

import pytest

from promptlab.errors import ToolError
from promptlab.tools import FunctionTool, tool
from promptlab.tools.decorator import parse_docstring


@tool
def word_count(text: str, unique: bool = False, mode: Literal["words", "chars"] = "words") -> int:
    """Count the words in a text.

    Args:
        text: the text to count.
        unique: count each distinct word once,
            ignoring case.
        mode: what to count.

    Returns:
        The count.
    """
    if mode == "chars":
        return len(text)
    words = text.lower().split()
    return len(set(words)) if unique else len(words)


def test_schema_from_hints_defaults_and_docstring() -> None:
    assert isinstance(word_count, FunctionTool)
    function = word_count.json_schema()["function"]
    assert function["name"] == "word_count"
    assert function["description"] == "Count the words in a text."
    parameters = function["parameters"]
    assert parameters["required"] == ["text"]
    assert parameters["properties"]["text"] == {"type": "string", "description": "the text to count."}
    assert parameters["properties"]["unique"]["default"] is False
    assert parameters["properties"]["unique"]["description"] == "count each distinct word once, ignoring case."
    assert parameters["properties"]["mode"]["enum"] == ["words", "chars"]
    assert parameters["additionalProperties"] is False


def test_calls_the_function_and_serialises_its_result() -> None:
    assert word_count.invoke({"text": "a b A", "unique": True}).text == "2"
    assert word_count.invoke("one two three").text == "3"
    assert word_count.invoke({"text": "abc", "mode": "bytes"}).kind == "invalid_arguments"
    assert word_count.invoke({"text": "x", "extra": 1}).kind == "invalid_arguments"


def test_options_override_name_description_and_timeout() -> None:
    @tool(name="shout", description="Upper-cases.", timeout_s=1.5)
    def upper(text: str) -> dict[str, str]:
        return {"text": text.upper()}

    assert (upper.name, upper.description, upper.timeout_s) == ("shout", "Upper-cases.", 1.5)
    assert upper.invoke("hi").text == '{"text": "HI"}'


def test_sphinx_style_docstrings() -> None:
    summary, args = parse_docstring("Find things.\n\n:param query: what to find\n:param int k: how many\n")
    assert summary == "Find things."
    assert args == {"query": "what to find", "k": "how many"}


def test_missing_hints_and_varargs_are_refused() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    def variadic(*items: int) -> int:
        return len(items)

    with pytest.raises(ToolError, match="'x' needs a type hint"):
        tool(untyped)
    with pytest.raises(ToolError, match=r"\*args"):
        tool(variadic)
