"""Answer extraction from generated text, and numeric normalisation for voting and scoring.

Extractors take a completion and return the answer span they found (or None);
:func:`normalize_answer` turns a span into a canonical string, so that ``$1,450,000.00``,
``1450000`` and ``1,450,000 dollars`` all vote for ``"1450000"``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from promptlab.errors import ConfigError

__all__ = [
    "Extractor",
    "answer_is",
    "answers_match",
    "boxed",
    "default_extractor",
    "first_of",
    "format_number",
    "last_number",
    "normalize_answer",
    "parse_number",
    "regex_extractor",
]

Extractor = Callable[[str], str | None]
"""Finds the answer span in a completion; None when there is none."""

_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_AMOUNT = rf"(?:\d++\s++\d++\s*+/\s*+\d++|\d++\s*+/\s*+\d++|{_DIGITS})"
MAX_NUMBER_DIGITS = 100
"""A longer run of digits is not read as a number (a model babbling digits is no answer)."""
_CURRENCY = "$€£¥₹"
_MINUS = "-−–"  # hyphen-minus, the minus sign and the en dash models write for it

# Possessive quantifiers (``*+``) keep matching linear: with plain ``\s*`` on both sides of an
# optional part, a long run of spaces is split every possible way before the match fails.
_NUMERIC = re.compile(
    rf"""^\s*+(?P<sign>[{_MINUS}+])?\s*+[{_CURRENCY}]?\s*+(?P<sign2>[{_MINUS}])?\s*+
    (?P<amount>{_AMOUNT})
    \s*+(?P<percent>%|percent\b)?
    (?:\s*+[A-Za-z][^\d]{{0,40}})?\s*+$""",
    re.VERBOSE,
)
_NUMBER_IN_TEXT = re.compile(
    rf"(?<![\w.)])(?:[{_MINUS}]\s?)?[{_CURRENCY}]?(?:\d+\s*/\s*\d+(?!\.\d)|{_DIGITS})(?!\w)"
)
_ANSWER_IS = re.compile(r"(?i)\b(?:the\s++)?(?:final\s++)?answer\s++is\s*+:?\s*+")
_LEADING_EQUATION = re.compile(  # "18 + 47 = " (or "2 x 3 = 6 x 2 = ") before the result a statement gives
    rf"^(?:(?:[{_CURRENCY}]?(?:{_DIGITS})\s*+[-+*/x×÷]\s*+){{1,24}}+[{_CURRENCY}]?(?:{_DIGITS})\s*+=\s*+)++")
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n")
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_DECORATION = " \t\n*_`\"'"


def parse_number(text: str) -> Fraction | None:
    """The exact value of a numeric answer, or None when the text is not one number.

    Accepts a sign (also ``−``), a currency symbol, thousands separators, decimals,
    fractions (``3/4``, ``1 1/2``), a percent sign (``25%`` is 25, as GSM8K writes
    percentages) and trailing unit words (``18 dollars``, ``5 km/h``).
    """
    match = _NUMERIC.match(text.strip(_DECORATION).removesuffix(".").rstrip())
    if match is None:
        return None
    value = _amount(match["amount"])
    if value is None:
        return None
    negative = match["sign"] in tuple(_MINUS) or match["sign2"] is not None
    return -value if negative else value


def _amount(text: str) -> Fraction | None:
    if sum(c.isdigit() for c in text) > MAX_NUMBER_DIGITS:
        return None
    parts = text.replace(",", "").split()
    whole = Fraction(parts[0]) if len(parts) == 2 else Fraction(0)
    fraction = "".join(parts[1:] if len(parts) == 2 else parts)
    numerator, slash, denominator = fraction.partition("/")
    if slash:
        if int(denominator) == 0:
            return None
        return whole + Fraction(int(numerator), int(denominator))
    return whole + Fraction(numerator)


def format_number(value: Fraction | float | int, places: int = 10) -> str:
    """Canonical text of a number: ``8``, ``-0.5``, ``0.3333333333`` (no exponent, no trailing zeros)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    exact = Fraction(value)
    if exact.denominator == 1:
        return str(exact.numerator)
    rounded = Decimal(exact.numerator) / Decimal(exact.denominator)
    text = format(round(rounded, places), "f").rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def normalize_answer(text: str) -> str:
    """A canonical answer string: numbers via :func:`format_number`, other text tidied.

    Text answers lose surrounding whitespace, markdown emphasis, quotes and a final
    period, and runs of whitespace become one space; case is kept.
    """
    value = parse_number(text)
    if value is not None:
        return format_number(value)
    return " ".join(text.strip(_DECORATION).removesuffix(".").strip(_DECORATION).split())


def answer_is(text: str) -> str | None:
    """The span after the last "The answer is" that states a number (the CoT exemplars'
    convention): a rationale that states several answers corrects itself, so its last
    statement counts, but "the answer is not 37" states none and the one before it counts.
    Without any numeric statement, the span after the last "The answer is".

    When that span starts with a number, only the number is kept
    ("The answer is 18 because..." gives "18").
    """
    spans = [_answer_span(text[m.end():]) for m in _ANSWER_IS.finditer(text) if m.end() < len(text)]
    numeric = [span for span in spans if parse_number(span) is not None]
    return (numeric or spans or [""])[-1] or None


def _answer_span(rest: str) -> str:
    """The answer a statement gives: its first sentence, a ``\\boxed{}`` in it, or the number it starts with
    (the result, when it starts with an equation: "18 + 47 = 65")."""
    span = _SENTENCE_END.split(rest, maxsplit=1)[0].strip()
    span = boxed(span) or span
    if equation := _LEADING_EQUATION.match(span):
        span = span[equation.end():]
    if parse_number(span) is None and (lead := _NUMBER_IN_TEXT.match(span)):
        return lead[0]
    return span


def last_number(text: str) -> str | None:
    """The last number in the text (lm-eval's "flexible-extract"), with its sign and separators."""
    numbers = _NUMBER_IN_TEXT.findall(text)
    return numbers[-1] if numbers else None


def boxed(text: str) -> str | None:
    r"""The content of the last ``\boxed{...}`` (the LaTeX convention of math-tuned models)."""
    found = _BOXED.findall(text)
    return found[-1] if found else None


def regex_extractor(pattern: str | re.Pattern[str], which: Literal["first", "last"] = "first") -> Extractor:
    """An extractor from a regex: group 1 if the pattern has groups, else the whole match."""
    try:
        compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
    except re.error as exc:
        raise ConfigError(f"invalid answer regex {pattern!r}: {exc}") from None

    def extract(text: str) -> str | None:
        matches = list(compiled.finditer(text))
        if not matches:
            return None
        match = matches[0] if which == "first" else matches[-1]
        return match[1] if compiled.groups else match[0]

    return extract


def first_of(*extractors: Extractor) -> Extractor:
    """An extractor that tries each in turn and returns the first answer found."""
    def extract(text: str) -> str | None:
        for extractor in extractors:
            if (found := extractor(text)) is not None:
                return found
        return None

    return extract


default_extractor: Extractor = first_of(answer_is, boxed, last_number)
""""The answer is X", else ``\\boxed{X}``, else the last number."""


def answers_match(prediction: str | float | None, target: str | float, abs_tol: float = 1e-3) -> bool:
    """Whether a prediction matches the target: numerically within ``abs_tol`` when both
    are numbers (PAL's scoring: ``abs(pred - target) < 1e-3``), else as normalised text
    ignoring case."""
    if prediction is None:
        return False
    predicted, expected = _as_number(prediction), _as_number(target)
    if predicted is not None and expected is not None:
        return abs(float(predicted) - float(expected)) < abs_tol
    return normalize_answer(str(prediction)).casefold() == normalize_answer(str(target)).casefold()


def _as_number(value: str | float) -> Fraction | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Fraction(value) if math.isfinite(value) else None
    return parse_number(value)
