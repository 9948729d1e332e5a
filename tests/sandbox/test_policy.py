"""The policy and the program runner, exercised in-process (no worker): what programs may and may not do."""

from __future__ import annotations

import decimal
import types
from collections.abc import Iterator
from typing import Any

import pytest

from promptlab.sandbox.policy import ALLOWED_MODULES, ALLOWED_NAMES, build_proxies
from promptlab.sandbox.program import execute

PROXIES = build_proxies()


@pytest.fixture(autouse=True)
def _own_decimal_context() -> Iterator[None]:
    """These programs run in the test process: keep their decimal settings from reaching other tests."""
    with decimal.localcontext():
        yield


def run(code: str, call: str | None = "solution", max_output: int = 10_000) -> dict[str, Any]:
    return execute(code, call, PROXIES, max_output=max_output)


def value_of(body: str, imports: str = "") -> Any:
    result = run(f"{imports}\ndef solution():\n" + "".join(f"    {line}\n" for line in body.splitlines()))
    assert result["status"] == "ok", result
    return result["value"]


def test_every_allowed_module_is_a_proxy_without_modules_inside() -> None:
    assert set(PROXIES) == set(ALLOWED_MODULES) == set(ALLOWED_NAMES)
    for name, proxy in PROXIES.items():
        assert not isinstance(proxy, types.ModuleType)
        assert all(not isinstance(v, types.ModuleType) for v in proxy._attrs.values()), name


@pytest.mark.parametrize(
    ("imports", "body", "expected"),
    [
        ("from math import sqrt, pi", "return round(sqrt(16) + pi, 2)", 7.14),
        ("import math as m", "return m.floor(2.7)", 2),
        ("from fractions import Fraction", "return Fraction(1, 4) * 2", 0.5),
        ("import decimal", "decimal.getcontext().prec = 4\nreturn str(decimal.Decimal(1) / 3)", "0.3333"),
        ("import statistics", "return statistics.median([3, 1, 2])", 2),
        ("import itertools", "return [list(p) for p in itertools.permutations([1, 2])]", [[1, 2], [2, 1]]),
        ("from functools import reduce, lru_cache", "return reduce(lambda a, b: a * b, range(1, 6))", 120),
        ("import datetime", "return (datetime.date(2024, 3, 1) - datetime.date(2024, 2, 1)).days", 29),
        ("import datetime", "return datetime.datetime.strptime('2020-05', '%Y-%m').month", 5),
        ("import re", "return re.findall(r'\\d+', 'a1b22')", ["1", "22"]),
        ("from collections import Counter", "c = Counter()\nfor w in 'a b a'.split():\n    c[w] += 1\nreturn c",
         {"a": 2, "b": 1}),
        ("from collections import defaultdict", "d = defaultdict(list)\nd['k'].append(1)\nd['k'] += [2]\nreturn d",
         {"k": [1, 2]}),
        ("", "x = [1, 2]\nx[0] += 10\nx[1:] += [5]\nreturn x", [11, 2, 5]),
        ("", "a, (b, c) = 1, (2, 3)\nreturn sorted(zip([c, b, a], 'xyz'))", [[1, "z"], [2, "y"], [3, "x"]]),
        ("", "return {1: 'a', None: 'b', 2.5: 'c'}", {"1": "a", "null": "b", "2.5": "c"}),
        ("", "return ({3, 1, 2}, (1, 'a'), frozenset())", [[1, 2, 3], [1, "a"], []]),
        ("", "return f'{7:>3}|{0.5:.0%}'", "  7|50%"),
        ("", "return [divmod(7, 2), pow(2, 10), abs(-1), max([1, 5]), min(3, 2), sum(range(4))]",
         [[3, 1], 1024, 1, 5, 2, 6]),
        ("", "return hasattr('s', 'upper'), getattr(1, 'real'), getattr(1, 'nope', 'default')",
         [True, 1, "default"]),
    ],
)
def test_ordinary_python_works(imports: str, body: str, expected: Any) -> None:
    assert value_of(body, imports) == expected


def test_programs_may_define_classes_and_set_their_attributes() -> None:
    code = """
class Account:
    def __init__(self, balance):
        self.balance = balance
    def deposit(self, amount):
        self.balance += amount
        return self
def solution():
    account = Account(10).deposit(5)
    setattr(account, 'owner', 'ann')
    return [account.balance, account.owner, isinstance(account, Account)]
"""
    assert run(code)["value"] == [15, "ann", True]


def test_writes_to_things_the_program_did_not_make_fail() -> None:
    result = run("import math\ndef solution():\n    math.pi = 3\n")
    assert result["status"] == "error" and "TypeError" in result["error"]
    assert run("def solution():\n    obj = []\n    obj._x += 1\n")["status"] == "forbidden"


def test_print_goes_to_stdout_and_printed() -> None:
    result = run("def solution():\n    print('a', 1, sep='-')\n    print('b', end='', flush=True)\n    return printed")
    assert result["stdout"] == "a-1\nb"
    assert result["value"] == "a-1\nb"


def test_stdout_is_capped() -> None:
    result = run("print('x' * 50)", call=None, max_output=10)
    assert result["stdout"] == "x" * 10 + "\n[output truncated: 41 more characters]"


@pytest.mark.parametrize(
    ("code", "status", "line", "fragment"),
    [
        ("def solution(:\n    return 1", "error", 1, "SyntaxError"),
        ("\n\ndef solution():\n    return 1 / 0", "error", 4, "ZeroDivisionError: division by zero"),
        ("def helper(x):\n    return x['missing']\ndef solution():\n    return helper({})", "error", 2, "KeyError"),
        ("x = 1", "error", None, "defines no function solution()"),
        ("solution = 3", "error", None, "defines no function solution()"),
        ("def solution():\n    return object()", "forbidden", 2, "object() is not allowed"),
        ("import random", "forbidden", 1, "import of 'random' is not allowed"),
        ("def solution():\n    return 1 if False else ().__class__", "forbidden", 2, "__class__"),
        ("def solution():\n    return {'a': lambda: 1}", "error", None, "type function cannot be returned"),
        ("def solution():\n    return {(1, 2): 3}", "error", None, "dict key of type tuple"),
        ("def solution():\n    raise ValueError('bad input')", "error", 2, "ValueError: bad input"),
        ("def solution():\n    raise SystemExit(0)", "error", 2, "NameError"),
    ],
)
def test_failures_are_outcomes_with_line_numbers(code: str, status: str, line: int | None, fragment: str) -> None:
    result = run(code)
    assert result["status"] == status, result
    assert result["line"] == line
    assert fragment in result["error"]
    assert result["value"] is None
    if line is not None:
        assert result["error"].endswith(f"(line {line})")


def test_a_failing_run_keeps_what_it_printed() -> None:
    result = run("def solution():\n    print('step 1')\n    return 1 / 0")
    assert result["stdout"] == "step 1\n" and result["status"] == "error"


def test_numbers_come_back_as_json_numbers() -> None:
    assert value_of("from decimal import Decimal\nreturn [Decimal('2.5'), True, 3]") == [2.5, True, 3]
    assert value_of("import re\nreturn re.IGNORECASE") == 2
    assert isinstance(value_of("import re\nreturn re.IGNORECASE"), int)
