"""Python tool: runs model-written code in the sandbox and shows what it printed and returned.

An expression (``sum(range(10))``) shows its value; statements whose last line is an
expression show the printed output and that value; a program defining ``solution()``
(PAL style) shows ``solution()``'s value. The sandbox enforces the time, memory and
output limits in a separate process, so the tool itself runs inline.
"""

from __future__ import annotations

import ast
import json

from pydantic import BaseModel, Field

from promptlab.sandbox import Sandbox, SandboxResult, default_sandbox
from promptlab.tools.base import Observation, Tool

__all__ = ["CodeArgs", "PythonTool", "describe", "entry_point"]

_ENTRY = "solution"
_VALUE = "python_tool_value"


class CodeArgs(BaseModel):
    code: str = Field(min_length=1, description="Python code; the value of a final expression is shown.")


class PythonTool(Tool[CodeArgs]):
    """Runs Python in :mod:`promptlab.sandbox` (RestrictedPython, separate process, limits)."""

    name = "python"
    description = ("Run Python code in a sandbox and return what it printed and the value of its last "
                   "expression, e.g. python[sum(x * x for x in range(10))].")
    args_model = CodeArgs

    def __init__(self, sandbox: Sandbox | None = None, *, timeout: float = 5.0) -> None:
        self._sandbox = sandbox
        self.run_timeout = timeout

    def run(self, args: CodeArgs) -> Observation:
        code, call = entry_point(args.code)
        result = (self._sandbox or default_sandbox()).run(code, call, timeout=self.run_timeout)
        return Observation(describe(result), "ok" if result.ok else "error", data=result)


def entry_point(code: str) -> tuple[str, str | None]:
    """The program to run and the function to call so that the code's value comes back.

    Code that does not parse is passed through unchanged: the sandbox reports the error.
    """
    try:
        module = ast.parse(code)
    except SyntaxError:
        return code, None
    if any(isinstance(node, ast.FunctionDef) and node.name == _ENTRY for node in module.body):
        return code, _ENTRY
    last = module.body[-1] if module.body else None
    if not isinstance(last, ast.Expr) or last.end_lineno is None or last.end_col_offset is None:
        return code, None
    # Assign the final expression to a name and return it from solution(): a text edit, so that
    # the line numbers in error messages stay those of the model's code.
    lines = code.splitlines(keepends=True)
    before = "".join(lines[: last.lineno - 1]) + lines[last.lineno - 1][: last.col_offset]
    after = lines[last.end_lineno - 1][last.end_col_offset:] + "".join(lines[last.end_lineno:])
    expression = ast.get_source_segment(code, last.value)
    program = f"{before}{_VALUE} = ({expression}){after}\n\ndef {_ENTRY}():\n    return {_VALUE}\n"
    return program, _ENTRY


def describe(result: SandboxResult) -> str:
    """The observation text of a sandbox run: printed output, then the value or the error."""
    parts = [result.stdout.rstrip()] if result.stdout.strip() else []
    if result.ok:
        if result.value is not None:
            value = result.value
            parts.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        return "\n".join(parts) or "(no output)"
    parts.append(f"{result.status.capitalize()}: {result.error or 'the program failed'}")
    return "\n".join(parts)
