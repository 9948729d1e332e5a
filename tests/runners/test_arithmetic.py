"""Checked arithmetic: equations a rationale states are recomputed, and a wrong result's answer corrected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptlab.backends.mock import MockBackend
from promptlab.runners.arithmetic import check_arithmetic
from promptlab.runners.cot import ChainOfThoughtRunner
from promptlab.tools.calculator import MAX_EXPRESSION_CHARS

REAL_SAMPLES = [json.loads(line) for line in
                (Path(__file__).parent / "data" / "smollm2_cot_wrong_arithmetic.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("sample", REAL_SAMPLES, ids=lambda s: s["completion"][:40])
def test_real_rationales_of_the_embedded_model(sample: dict[str, Any]) -> None:
    check = check_arithmetic(sample["completion"])
    assert [str(c) for c in check.corrections] == sample["corrections"]
    result = ChainOfThoughtRunner(MockBackend([sample["completion"]])).run("q")
    assert result.answer == sample["checked"]
    unchecked = ChainOfThoughtRunner(MockBackend([sample["completion"]]), check_arithmetic=False).run("q")
    assert unchecked.answer == sample["unchecked"]


@pytest.mark.parametrize(("text", "corrections"), [
    ("4 + 5 + 9 = 21", ["4 + 5 + 9 = 21 -> 18"]),
    ("(3 + 4) * 2 = 15", ["(3 + 4) * 2 = 15 -> 14"]),
    ("5 x 3 = 16, 6 × 7 = 40, 8 ÷ 2 = 3, 9 − 2 = 6",
     ["5 x 3 = 16 -> 15", "6 × 7 = 40 -> 42", "8 ÷ 2 = 3 -> 4", "9 − 2 = 6 -> 7"]),
    ("1,200 + 300 = 1,600 and $23 - $15 = $9", ["1,200 + 300 = 1,600 -> 1500", "$23 - $15 = $9 -> 8"]),
    ("9 + 20 is 28, 2 + 2 equals 5", ["9 + 20 is 28 -> 29", "2 + 2 equals 5 -> 4"]),
    ("7 - 9 = -3", ["7 - 9 = -3 -> -2"]),
])
def test_wrong_results_are_found(text: str, corrections: list[str]) -> None:
    assert [str(c) for c in check_arithmetic(text).corrections] == corrections


@pytest.mark.parametrize("text", [
    "3 + 3 = 6. 58 - 23 = 35. 5 x 3 = 15 dollars.",  # right
    "10 / 3 = 3.33 each, 7 / 2 = 3 whole boxes, 7 / 2 = 4 buses, 0.1 + 0.2 = 0.3",  # rounded at the stated precision
    "1 / 4 = 25%, 1/2 = 50 percent",  # a percentage is not a wrong result
    "2 + 3 = 5 + 1 = 6",  # chained: the middle "result" goes on
    "6 days x 9 pizzas = 55",  # words between the numbers: not an equation it reads
    "8 / 0 = 5",  # no value to correct it with
    "The answer is 12.",
])
def test_right_rounded_and_unreadable_equations_are_left_alone(text: str) -> None:
    assert check_arithmetic(text).corrections == ()


def test_a_corrected_result_carries_into_later_equations_and_the_answer() -> None:
    check = check_arithmetic("4 + 5 = 10. Then 10 - 2 = 8. The answer is 8.")
    assert [str(c) for c in check.corrections] == ["4 + 5 = 10 -> 9", "10 - 2 = 8 -> 7"]
    assert (check.correct("8"), check.correct("$10"), check.correct("3"), check.correct("many")) == \
        ("7", "9", "3", "many")


def test_hostile_text_is_bounded() -> None:
    long_sum = " + ".join(["1"] * MAX_EXPRESSION_CHARS) + " = 5"  # beyond the calculator's length limit
    digits = "9" * 100_000 + " + 1 = 2"
    assert check_arithmetic(long_sum).corrections == ()
    assert check_arithmetic(digits).corrections == ()  # no number of that many digits is read
    assert check_arithmetic("99999999 * " * 200 + "9 = 1").corrections == ()  # too large a result


def test_the_cot_trace_lists_the_corrections_and_the_vote_counts_corrected_answers() -> None:
    samples = ["7 + 7 = 70. The answer is 70.", "7 + 7 = 14. The answer is 14.", "The answer is 70."]
    result = ChainOfThoughtRunner(MockBackend(samples), n=3).run("q")
    assert (result.answer, result.votes) == ("14", {"14": 2, "70": 1})
    first = result.trace.steps[0]
    assert first.data["answer"] == "14" and first.data["corrections"] == ["7 + 7 = 70 -> 14"]
    assert "corrections" not in result.trace.steps[1].data
