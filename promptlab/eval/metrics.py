"""Answer scoring: PAL's numeric tolerance for math, HotpotQA's exact match and F1 for QA."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from promptlab.runners.answers import default_extractor, parse_number

__all__ = [
    "NUMERIC_TOLERANCE",
    "Score",
    "exact_match",
    "f1_score",
    "normalize_qa",
    "numeric_match",
    "score",
    "stated_number",
    "wilson_interval",
]

NUMERIC_TOLERANCE = 1e-3
"""PAL scores a math answer correct iff ``abs(answer - target) < 1e-3``."""

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_SPECIAL = ("yes", "no", "noanswer")


@dataclass(frozen=True)
class Score:
    """How well one prediction matches its reference."""

    correct: bool
    f1: float | None = None
    """Token F1 (QA only)."""


def stated_number(text: str | None) -> Fraction | None:
    """The number an answer states: ``"1,200"``, ``"$18."``, ``"3/4"``, or the one a sentence ends on.

    A whole-answer number is read with :func:`~promptlab.runners.answers.parse_number`;
    otherwise the span after "The answer is", a ``\\boxed{}``, or the last number in the text.
    """
    if text is None:
        return None
    value = parse_number(text)
    if value is None and (span := default_extractor(text)) is not None:
        value = parse_number(span)
    return value


def numeric_match(prediction: str | None, reference: str, tolerance: float = NUMERIC_TOLERANCE) -> bool:
    """PAL's rule: both sides parse as numbers and differ by less than ``tolerance``."""
    predicted, expected = stated_number(prediction), stated_number(reference)
    return predicted is not None and expected is not None and float(abs(predicted - expected)) < tolerance


def normalize_qa(text: str) -> str:
    """HotpotQA's normalisation: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def exact_match(prediction: str | None, reference: str) -> bool:
    """HotpotQA exact match after :func:`normalize_qa`."""
    return prediction is not None and normalize_qa(prediction) == normalize_qa(reference)


def f1_score(prediction: str | None, reference: str) -> float:
    """HotpotQA token F1; a yes/no/noanswer on either side scores 0 unless both are equal."""
    if prediction is None:
        return 0.0
    predicted, expected = normalize_qa(prediction), normalize_qa(reference)
    if (predicted in _SPECIAL or expected in _SPECIAL) and predicted != expected:
        return 0.0
    predicted_tokens, expected_tokens = predicted.split(), expected.split()
    same = sum((Counter(predicted_tokens) & Counter(expected_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted_tokens), same / len(expected_tokens)
    return 2 * precision * recall / (precision + recall)


def score(task: str, prediction: str | None, reference: str) -> Score:
    """Score one prediction for a ``"math"`` or ``"qa"`` task."""
    if task == "math":
        return Score(correct=numeric_match(prediction, reference))
    return Score(correct=exact_match(prediction, reference), f1=f1_score(prediction, reference))


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% for ``z=1.96``); (0, 0) without items.

    Unlike the normal approximation it stays inside [0, 1] and is honest for small samples
    and for accuracies near 0 or 1.
    """
    if total <= 0:
        return 0.0, 0.0
    share = successes / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)
