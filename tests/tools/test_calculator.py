"""The calculator: arithmetic on an AST allow-list, bounded."""

from __future__ import annotations

import time

import pytest

from promptlab.tools import Calculator, CalculatorError, calculate
from promptlab.tools.calculator import format_result


@pytest.mark.parametrize(("expression", "value"), [
    ("(1800 + 7000) / 2", 4400.0),
    ("2 ** 10", 1024),
    ("2^10", 1024),
    ("-3 + +4", 1),
    ("7 // 2 + 7 % 2", 4),
    ("1,800 * 2", 3600),
    ("sqrt(16) + abs(-2)", 6.0),
    ("max(1,800)", 800),
    ("round(pi, 2)", 3.14),
    ("factorial(5)", 120),
    ("3 * 4 =", 12),
])
def test_arithmetic(expression: str, value: float) -> None:
    assert calculate(expression) == value


@pytest.mark.parametrize(("expression", "message"), [
    ("__import__('os')", "not allowed"),
    ("open('x')", "not allowed"),
    ("(1).real", "not allowed"),
    ("x + 1", "not allowed"),
    ("'a' * 3", "not allowed"),
    ("True + 1", "not allowed"),
    ("1 / 0", "division by zero"),
    ("10 ** 10 ** 8", "too large"),
    ("9 ** 99999", "too large"),
    ("factorial(10 ** 6)", "factorial"),
    ("10.0 ** 400", "too large"),
    ("(-8) ** 0.5", "not a real number"),
    ("sqrt(-1)", "sqrt"),
    ("", "empty"),
    ("1 +", "not an arithmetic expression"),
    ("1" * 1001, "longer than"),
])
def test_refusals(expression: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CalculatorError, match=message):
        calculate(expression)
    assert time.perf_counter() - started < 1  # refused before doing the huge work


def test_tool_formats_numbers_and_reports_errors() -> None:
    calculator = Calculator()
    assert calculator.invoke("0.1 + 0.2").text == "0.3"
    assert calculator.invoke({"expression": "2 ** 100"}).text == str(2 ** 100)
    failed = calculator.invoke("1 / 0")
    assert failed.kind == "error" and "division by zero" in failed.text
    assert format_result(float("inf")) == "inf"
