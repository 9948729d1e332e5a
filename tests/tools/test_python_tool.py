"""The python tool runs model code in the sandbox and shows its output and value."""

from __future__ import annotations

import pytest

from promptlab.sandbox import Sandbox
from promptlab.tools import PythonTool
from promptlab.tools.python import entry_point


@pytest.fixture(scope="module")
def python_tool() -> PythonTool:
    with Sandbox(timeout=2.0) as sandbox:
        yield PythonTool(sandbox, timeout=1.0)  # type: ignore[misc]


@pytest.mark.parametrize(("code", "text"), [
    ("sum(x * x for x in range(10))", "285"),
    ("x = 3\nprint('x is', x)\nx * 2", "x is 3\n6"),
    ("a = 2; a ** 5", "32"),
    ("def solution():\n    return [1, 2]", "[1, 2]"),
    ("print('only output')", "only output"),
    ("y = 1", "(no output)"),
    ("'text'", "text"),
])
def test_output_and_value(python_tool: PythonTool, code: str, text: str) -> None:
    observation = python_tool.invoke(code)
    assert (observation.kind, observation.text) == ("ok", text)
    assert observation.data.ok


@pytest.mark.parametrize(("code", "start"), [
    ("1 / 0", "Error: ZeroDivisionError: division by zero (line 1)"),
    ("x = 1\n\n(x +\n undefined_name)", "Error: NameError"),
    ("import os", "Forbidden: import of 'os' is not allowed"),
    ("while True:\n    pass", "Timeout:"),
    ("def broken(:", "Error: SyntaxError"),
])
def test_failures_are_error_observations(python_tool: PythonTool, code: str, start: str) -> None:
    observation = python_tool.invoke(code)
    assert observation.kind == "error"
    assert observation.text.startswith(start), observation.text


def test_line_numbers_are_the_models() -> None:
    program, call = entry_point("a = 1\nb = 2\na + b")
    assert call == "solution"
    assert program.splitlines()[:3] == ["a = 1", "b = 2", "python_tool_value = (a + b)"]
    assert entry_point("x = 1") == ("x = 1", None)
