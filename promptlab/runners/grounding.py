"""Grounded answers: whether a rationale computes its answer from the numbers the question gives.

A small model's rationale often ends on a number it never derived: "7 x 10 = 70" where the
question gives 7 and 2, or a bare "The answer is 12". :func:`is_grounded` says whether an answer
is the result of an equation the rationale states (:mod:`~promptlab.runners.arithmetic`) whose
operands are all numbers the question gives (:func:`given_numbers`) or results of grounded
equations before it. On the embedded SmolLM2-135M, 46% of grounded chain-of-thought samples of
MAWPS single-op were right against 3.9% of the others (SVAMP: 18.2% against 1.7%; BENCHMARKS.md,
*Grounded votes*), so the CoT runner's vote counts an ungrounded answer less.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from promptlab.runners.answers import parse_number
from promptlab.runners.arithmetic import ArithmeticCheck, Equation

__all__ = ["given_numbers", "is_grounded"]

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_WORDS: dict[str, tuple[Fraction, ...]] = {  # "zero" and "one" give nothing: "one of them" is no operand
    **{word: (Fraction(value),) for value, word in enumerate(_UNITS) if value > 1},
    **{word: (Fraction(value),) for word, value in _TENS.items()},
    "hundred": (Fraction(100),), "thousand": (Fraction(1000),), "million": (Fraction(1_000_000),),
    "dozen": (Fraction(12),), "twice": (Fraction(2),), "double": (Fraction(2),), "triple": (Fraction(3),),
    "thrice": (Fraction(3),), "half": (Fraction(1, 2), Fraction(2)), "third": (Fraction(1, 3), Fraction(3)),
    "quarter": (Fraction(1, 4), Fraction(4)), "fourth": (Fraction(1, 4), Fraction(4)),
    "fifth": (Fraction(1, 5), Fraction(5)),
}
_WORD = re.compile(rf"\b({'|'.join(_TENS)})[-\s]({'|'.join(_UNITS[1:10])})\b|\b({'|'.join(_WORDS)})(?:s|es)?\b",
                   re.IGNORECASE)
_AMOUNT = r"(?<![\d.,])(?:\d{1,30}(?:,\d{3})*(?:\.\d{1,30})?|\.\d{1,30})"
_DIGITS = re.compile(rf"{_AMOUNT}(?![\d.]*\d)")
_FRACTION = re.compile(r"(?<![\d.])(\d{1,30})\s*/\s*(\d{1,30})(?!\d)")
_PERCENT = re.compile(rf"({_AMOUNT})\s*(?:%|percent\b)", re.IGNORECASE)


@lru_cache(maxsize=64)  # every sample of a vote asks about the same question
def given_numbers(question: str) -> frozenset[Fraction]:
    """The numbers ``question`` gives: written in digits (``1,200``, ``2.5``), as fractions (``3/4``),
    percentages (``25%`` gives 25 and 0.25) and words (``five``, ``twenty-one``, ``a dozen``,
    ``half``; not combined: "a hundred and five" gives 100 and 5)."""
    numbers = {value for match in _DIGITS.finditer(question) if (value := parse_number(match[0])) is not None}
    numbers |= {Fraction(int(top), int(bottom)) for top, bottom in _FRACTION.findall(question) if int(bottom)}
    numbers |= {value / 100 for amount in _PERCENT.findall(question) if (value := parse_number(amount)) is not None}
    for match in _WORD.finditer(question):
        if match[1]:
            numbers.add(Fraction(_TENS[match[1].lower()] + _UNITS.index(match[2].lower())))
        else:
            numbers.update(_WORDS[match[3].lower()])
    return frozenset(numbers)


def is_grounded(check: ArithmeticCheck, answer: str, given: frozenset[Fraction]) -> bool:
    """Whether an equation of ``check`` computes ``answer`` from ``given`` numbers and the results of
    grounded equations before it (operands compared without their signs). An equation that leaves an
    operand as it was (``12 * 1 = 12``, ``5 + 0 = 5``) computes nothing new and grounds nothing."""
    value = parse_number(answer)
    if value is None:
        return False
    known = {abs(number) for number in given}
    for equation in check.equations:
        if not _restates(equation) and all(abs(operand) in known for operand in equation.operands):
            if equation.computed == value:
                return True
            known.add(abs(equation.computed))
    return False


def _restates(equation: Equation) -> bool:
    """``12 * 1 = 12``, ``5 + 0 = 5``: a 0 or 1 that leaves another operand as it was."""
    others = [operand for operand in equation.operands if operand not in (0, 1)]
    return len(others) < len(equation.operands) and equation.computed in others
