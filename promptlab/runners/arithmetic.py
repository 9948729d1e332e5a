"""Checked arithmetic: recompute the equations a rationale states and correct the answer they lead to.

Small models set a problem up right and then compute it wrong ("4 + 5 + 9 = 21. The answer is
21."). :func:`check_arithmetic` finds each equation written out in a rationale (``a op b ... = c``;
``=``, ``is`` or ``equals``; ``x`` and ``×`` multiply, ``÷`` divides), recomputes it exactly (with
fractions, operator precedence, and no ``eval``) and records a :class:`Correction` where the stated
result is wrong; :meth:`ArithmeticCheck.correct` replaces an answer whose last statement in an
equation was wrong. Each equation is recomputed as written: carrying a corrected value into later
equations was measured and lost answers (a number a later step uses may be a given, not the
wrong result), see BENCHMARKS.md, *Checked arithmetic*.

What is not read as arithmetic, so that a right answer is never "corrected": ``-``, ``/`` and ``x``
without spaces around them (ranges ``9-5``, dates ``3/15``, fractions ``1/4``, sizes ``2x4``), a
number that continues another (``-5``, ``2 1/2``, ``5^2``, ``1:30``), chained equations
(``2 + 3 = 5 + 1 = 6``), results given as percentages or times, numbers with words between them
("6 days x 9 pizzas = 54") and numbers of more than :data:`MAX_DIGITS` digits. A result rounded at
the precision it is written in (``10 / 3 = 3.33``, ``7 / 2 = 3``) or computed left to right
(``20 - 5 / 5 = 3``) is not an error.

It is GSM8K's calculator (Cobbe et al., 2021) applied after generation rather than during it.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

from promptlab.runners.answers import format_number, parse_number

__all__ = ["MAX_DIGITS", "MAX_OPERATORS", "ArithmeticCheck", "Correction", "Equation", "check_arithmetic"]

MAX_DIGITS = 30
"""A longer number is not read as an operand or result (bounds the work on babbled digits)."""
MAX_OPERATORS = 24
"""An equation with more operators is not read (bounds each match, so checking is linear in the text)."""

_NUMBER = rf"[-−]?\$?\d{{1,{MAX_DIGITS}}}+(?:,\d{{3}})*+(?:\.\d{{1,{MAX_DIGITS}}}+)?+"
_OPERATOR = r"(?:\s++[-−/x]\s++|\s*+[+*×÷]\s*+)"  # "-", "/" and "x" only with spaces: 9-5, 3/15, 2x4 are not sums
_OPERAND = rf"(?:\(\s*+){{0,8}}+{_NUMBER}(?:\s*+\)){{0,8}}+"
_EQUATION = re.compile(
    r"(?<![\w.,$=+\-−–*/×÷^:√%])(?<![=+\-−–*/×÷^]\s)(?<!\sx\s)(?<!\d\s)"  # not inside a number or a chain
    rf"(?P<expression>{_OPERAND}(?:{_OPERATOR}{_OPERAND}){{1,{MAX_OPERATORS}}}+)"
    rf"\s*+(?:=|\bis\b|\bequals\b)\s*+(?P<result>{_NUMBER})"
    r"(?![\d.,:/]*\d|\s*+(?:%|percent\b|=|[-−+*/x×÷]\s*+[\d(]))"
)
_TOKEN = re.compile(rf"{_NUMBER}|[-−+*/x×÷()]")
_SYMBOL = {"−": "-", "x": "*", "×": "*", "÷": "/"}


@dataclass(frozen=True)
class Equation:
    """One equation as stated, with its recomputed result."""

    text: str
    """As written in the rationale (``"4 + 5 + 9 = 21"``)."""
    stated: Fraction
    computed: Fraction
    operands: tuple[Fraction, ...] = ()
    """The numbers it computes with, in order."""

    @property
    def wrong(self) -> bool:
        return self.stated != self.computed


@dataclass(frozen=True)
class Correction:
    """One equation whose stated result is wrong, both results normalised."""

    equation: str
    stated: str
    computed: str

    def __str__(self) -> str:
        return f"{self.equation} -> {self.computed}"


@dataclass(frozen=True)
class ArithmeticCheck:
    """Every equation one rationale states, in order, each with the result it should have."""

    equations: tuple[Equation, ...] = ()

    @property
    def corrections(self) -> tuple[Correction, ...]:
        """The wrong ones (none when every stated equation holds)."""
        return tuple(Correction(e.text, format_number(e.stated), format_number(e.computed))
                     for e in self.equations if e.wrong)

    def correct(self, answer: str) -> str:
        """``answer``, or the recomputed value when the last equation stating its value was wrong."""
        value = parse_number(answer)
        stating = [e for e in self.equations if e.stated == value]
        return format_number(stating[-1].computed) if stating and stating[-1].wrong else answer


def check_arithmetic(text: str) -> ArithmeticCheck:
    """Recompute every equation stated in ``text``, each as written."""
    equations: list[Equation] = []
    for match in _EQUATION.finditer(text):
        stated, tokens = _value(match["result"]), _tokens(match["expression"])
        if stated is None or tokens is None:  # a malformed number ("1758,000")
            continue
        computed = _evaluate(tokens, precedence=True)
        if computed is None:
            continue
        if any(value is not None and _rounds_to(value, stated, match["result"])
               for value in (computed, _evaluate(tokens, precedence=False))):
            computed = stated
        operands = tuple(token for token in tokens if isinstance(token, Fraction))
        equations.append(Equation(match[0], stated, computed, operands))
    return ArithmeticCheck(tuple(equations))


Token = Fraction | str


def _value(number: str) -> Fraction | None:
    return parse_number(number.replace("$", "").replace("−", "-"))


def _tokens(expression: str) -> list[Token] | None:
    tokens: list[Token] = []
    for token in _TOKEN.findall(expression):
        if not token[-1].isdigit():
            tokens.append(_SYMBOL.get(token, token))
        elif (value := _value(token)) is not None:
            tokens.append(value)
        else:
            return None
    return tokens


def _evaluate(tokens: list[Token], *, precedence: bool) -> Fraction | None:
    """The value of ``tokens``: with operator precedence, or strictly left to right (as a small model
    writes steps); None for unbalanced parentheses, a division by zero, or parentheses left to right."""
    if not precedence and "(" in tokens:
        return None
    stream = iter(tokens)
    try:
        value, rest = _sum(stream, next(stream), precedence)
    except (ZeroDivisionError, StopIteration, TypeError):
        return None
    return value if rest is None else None


_APPLY: dict[str, Callable[[Fraction, Fraction], Fraction]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _sum(stream: Iterator[Token], token: Token, precedence: bool) -> tuple[Fraction, Token | None]:
    """Parse ``term (op term)*`` from ``token`` on; return its value and the token after it."""
    value, token_after = _term(stream, token, precedence) if precedence else _factor(stream, token, precedence)
    while token_after in ("+", "-") or (not precedence and token_after in ("*", "/")):
        apply = _APPLY[str(token_after)]
        right, token_after = (_term if precedence else _factor)(stream, next(stream), precedence)
        value = apply(value, right)
    return value, token_after


def _term(stream: Iterator[Token], token: Token, precedence: bool) -> tuple[Fraction, Token | None]:
    value, token_after = _factor(stream, token, precedence)
    while token_after in ("*", "/"):
        apply = _APPLY[str(token_after)]
        right, token_after = _factor(stream, next(stream), precedence)
        value = apply(value, right)
    return value, token_after


def _factor(stream: Iterator[Token], token: Token, precedence: bool) -> tuple[Fraction, Token | None]:
    if isinstance(token, Fraction):
        return token, next(stream, None)
    if token == "(":
        value, closing = _sum(stream, next(stream), precedence)
        if closing != ")":
            raise TypeError("unbalanced parentheses")
        return value, next(stream, None)
    raise TypeError(f"unexpected {token!r}")


def _rounds_to(computed: Fraction, stated: Fraction, written: str) -> bool:
    """Whether ``stated`` is ``computed`` rounded down, up or to nearest at the precision it is written in."""
    places = len(written.partition(".")[2])
    scaled = computed * 10**places
    return stated * 10**places in (math.floor(scaled), math.ceil(scaled))
