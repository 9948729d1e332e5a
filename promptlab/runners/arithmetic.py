"""Checked arithmetic: recompute the equations a rationale states and correct the answer they lead to.

Small models set a problem up right and then compute it wrong ("4 + 5 + 9 = 21. The answer is
21."). :func:`check_arithmetic` finds each equation written out in a rationale (``a op b ... = c``;
``=``, ``is`` or ``equals``; ``x`` and ``×`` multiply, ``÷`` divides), recomputes its left side with
the calculator tool (an AST allow-list, never ``eval``) and records a :class:`Correction` where the
stated result is wrong. A later equation that uses a wrong result is recomputed with the corrected
value, and :meth:`ArithmeticCheck.correct` replaces an answer that repeats a wrong result.
Rounding is not an error: ``10 / 3 = 3.33`` and ``7 / 2 = 3`` (floor or ceiling at the stated
precision) stand. Equations with words between their numbers ("6 days x 9 pizzas = 54"), results
given as percentages and chained equations ("2 + 3 = 5 + 1 = 6") are left alone.

It is GSM8K's calculator (Cobbe et al., 2021) applied after generation rather than during it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from promptlab.runners.answers import format_number, parse_number
from promptlab.tools.calculator import CalculatorError, calculate

__all__ = ["ArithmeticCheck", "Correction", "check_arithmetic"]

_NUMBER = r"\$?\d++(?:,\d{3})*+(?:\.\d++)?+"
_OPERATOR = r"[-−+*/x×÷]"
_OPERAND = rf"(?:\(\s*+)*+{_NUMBER}(?:\s*+\))*+"
_EQUATION = re.compile(
    rf"(?<![\w.,$])(?P<expression>{_OPERAND}(?:\s*+{_OPERATOR}\s*+{_OPERAND})++)"
    rf"\s*+(?:=|\bis\b|\bequals\b)\s*+(?P<result>-?{_NUMBER})"
    rf"(?![\d.,]*\d|\s*+(?:%|percent\b|{_OPERATOR}\s*+[\d(]))"
)
_OPERAND_NUMBER = re.compile(_NUMBER)
_TO_PYTHON = str.maketrans({"x": "*", "×": "*", "÷": "/", "−": "-", "$": None})


@dataclass(frozen=True)
class Correction:
    """One equation whose stated result is wrong."""

    equation: str
    """As written in the rationale (``"4 + 5 + 9 = 21"``)."""
    stated: str
    """The stated result, normalised (``"21"``)."""
    computed: str
    """The recomputed result, normalised (``"18"``)."""

    def __str__(self) -> str:
        return f"{self.equation} -> {self.computed}"


@dataclass(frozen=True)
class ArithmeticCheck:
    """The corrections one rationale needs (none when every stated equation holds)."""

    corrections: tuple[Correction, ...] = ()

    def correct(self, answer: str) -> str:
        """``answer``, or the recomputed value when it repeats a wrong result (the last such equation)."""
        value = parse_number(answer)
        if value is None:
            return answer
        for correction in reversed(self.corrections):
            if parse_number(correction.stated) == value:
                return correction.computed
        return answer


def check_arithmetic(text: str) -> ArithmeticCheck:
    """Recompute every equation stated in ``text``, carrying corrected values into later ones."""
    corrections: list[Correction] = []
    fixed: dict[Fraction, Fraction] = {}
    for match in _EQUATION.finditer(text):
        stated = parse_number(match["result"].replace("$", ""))
        computed = _compute(match["expression"], fixed)
        if stated is None or computed is None or _consistent(stated, computed, match["result"]):
            continue
        fixed[stated] = computed
        corrections.append(Correction(match[0], format_number(stated), format_number(computed)))
    return ArithmeticCheck(tuple(corrections))


def _compute(expression: str, fixed: dict[Fraction, Fraction]) -> Fraction | None:
    """The exact value of ``expression`` with earlier wrong results replaced; None if it is no arithmetic."""
    def operand(match: re.Match[str]) -> str:
        value = parse_number(match[0].replace("$", ""))
        return f"({format_number(fixed[value])})" if value in fixed else match[0]

    try:
        value = calculate(_OPERAND_NUMBER.sub(operand, expression).translate(_TO_PYTHON))
    except CalculatorError:
        return None
    return Fraction(value) if math.isfinite(value) else None


def _consistent(stated: Fraction, computed: Fraction, written: str) -> bool:
    """Whether ``stated`` is ``computed`` rounded down, up or to nearest at the precision it is written in."""
    places = len(written.partition(".")[2])
    scaled = computed * 10**places
    return stated * 10**places in (math.floor(scaled), math.ceil(scaled))
