"""Calculator: arithmetic on an AST allow-list, never ``eval``.

Numbers, ``+ - * / // % **`` (``^`` also means power), parentheses, ``pi``, ``e`` and a
few math functions. Work is bounded: the expression length, the size of every integer
result (``10**10**8`` is refused before it is computed), ``factorial``'s argument and
``round``'s precision (``round(1, -10**9)`` would compute ``10**10**9``), so every
expression ends in well under a millisecond.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from promptlab.errors import ToolError
from promptlab.tools.base import Tool

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "MAX_FACTORIAL",
    "MAX_INT_BITS",
    "MAX_ROUND_DIGITS",
    "Calculator",
    "CalculatorArgs",
    "CalculatorError",
    "Real",
    "calculate",
    "format_result",
]

Real = int | float

MAX_EXPRESSION_CHARS = 1_000
MAX_INT_BITS = 4_096
MAX_FACTORIAL = 500
MAX_ROUND_DIGITS = 400

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Real]] = {
    "abs": abs, "round": round, "min": min, "max": max, "sqrt": math.sqrt, "exp": math.exp, "log": math.log,
    "log10": math.log10, "log2": math.log2, "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "floor": math.floor, "ceil": math.ceil, "factorial": math.factorial,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_CALL = re.compile(r"[A-Za-z_]\w*\s*\(")


class CalculatorError(ToolError, ValueError):
    """The expression is not plain arithmetic, or its result would be too large."""


def calculate(expression: str) -> Real:
    """Evaluate an arithmetic expression safely; raise :class:`CalculatorError` otherwise."""
    text = expression.strip().rstrip("=").strip()
    if not text:
        raise CalculatorError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    if not _CALL.search(text):  # "1,800 * 2" is a number with a separator; "max(1,800)" is not
        text = _THOUSANDS.sub("", text)
    text = text.replace("^", "**")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"not an arithmetic expression: {exc.msg}") from None
    return _eval(tree.body)


def format_result(value: Real) -> str:
    """Integers exactly; floats to 12 significant digits (``0.1 + 0.2`` -> ``0.3``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return str(value) if isinstance(value, int) else f"{value:.12g}"


def _eval(node: ast.expr) -> Real:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))  # type: ignore[no-any-return]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        try:
            return _bounded(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
        except OverflowError:
            raise CalculatorError("the result is too large") from None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.keywords:
            raise CalculatorError(f"{node.func.id}() takes positional arguments only")
        args = [_eval(a) for a in node.args]
        if node.func.id == "factorial" and args and (not isinstance(args[0], int) or args[0] > MAX_FACTORIAL):
            raise CalculatorError(f"factorial() takes an integer up to {MAX_FACTORIAL}")
        if node.func.id == "round" and len(args) > 1 and isinstance(args[1], int) \
                and abs(args[1]) > MAX_ROUND_DIGITS:
            raise CalculatorError(f"round() takes a precision between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}")
        try:
            return _bounded(_FUNCTIONS[node.func.id](*args))
        except (TypeError, ValueError, OverflowError) as exc:
            raise CalculatorError(f"{node.func.id}(): {exc}") from None
    raise CalculatorError(f"{ast.unparse(node)!r} is not allowed; use numbers, + - * / // % ** and math functions")


def _check_power(base: Real, exponent: Real) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1 \
            and (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS:
        raise CalculatorError(f"the result of {base}**{exponent} would be too large")


def _bounded(value: Real) -> Real:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalculatorError("the result is too large")
    if isinstance(value, complex):
        raise CalculatorError("the result is not a real number")
    return value


class CalculatorArgs(BaseModel):
    expression: str = Field(description="An arithmetic expression, e.g. (3 + 4) * 2 / 7.")


class Calculator(Tool[CalculatorArgs]):
    """Evaluates arithmetic expressions exactly (integers) or to 12 significant digits."""

    name = "calculator"
    description = "Evaluate an arithmetic expression, e.g. calculator[(1800 + 7000) / 2]."
    args_model = CalculatorArgs

    def run(self, args: CalculatorArgs) -> str:
        return format_result(calculate(args.expression))
