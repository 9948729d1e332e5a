"""Checked arithmetic: equations a rationale states are recomputed, and a wrong result's answer corrected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptlab.backends.mock import MockBackend
from promptlab.errors import ConfigError
from promptlab.runners.arithmetic import MAX_OPERATORS, check_arithmetic
from promptlab.runners.cot import ChainOfThoughtRunner

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
    ("-5 + 12 = 8 degrees, 3 x -4 = 12", ["-5 + 12 = 8 -> 7", "3 x -4 = 12 -> -12"]),  # signs belong to numbers
    ("4+5=10 and 2*3=7", ["4+5=10 -> 9", "2*3=7 -> 6"]),  # + and * need no spaces
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
    "The rate is 20 - 5 / 5 = 3 per hour.",  # left to right, as small models write steps
    # numbers that continue another: a sign, a mixed number, a power, a root, a time
    "-5 + 12 = 7 degrees", "She owes -3 x 4 = -12", "She uses 2 1/2 x 4 = 10 cups", "5^2 + 3 = 28", "2**3 + 1 = 9",
    "√16 + 2 = 6", "1:30 x 2 = 3 hours", "3:15 + 45 = 4 o'clock",
    # ranges, dates, fractions and sizes without spaces are no arithmetic
    "She works 9-5 is 8 hours a day.", "From 2019-2023 is 4 years.", "From 3/15 to 3/22 = 7 days.",
    "12/25 is 7 days after 12/18.", "1/4 is 25 cents", "The 1/2 = 30 minutes", "A 2x4 is 96 inches long.",
    "2 + 3 = 5 + 1 = 7",  # no link of a chain is read
    "The time is 2 + 3 = 5:30.",
    "1758,000 - 3 = 5", "5 + 3 = 1758,000",  # malformed thousands: no number (a real SVAMP rationale raised here)
])
def test_right_rounded_and_unreadable_equations_are_left_alone(text: str) -> None:
    assert check_arithmetic(text).corrections == ()


def test_the_answer_is_corrected_only_where_its_last_equation_is_wrong() -> None:
    check = check_arithmetic("4 + 5 = 10. Then 10 - 2 = 8. The answer is 8.")  # each equation as written
    assert [str(c) for c in check.corrections] == ["4 + 5 = 10 -> 9"]
    assert (check.correct("8"), check.correct("$10"), check.correct("3"), check.correct("many")) == \
        ("8", "9", "3", "many")
    fixed_by_the_model = check_arithmetic("4 + 5 = 10. Oops, 4 + 5 = 9, so 9 + 1 = 10. The answer is 10.")
    assert fixed_by_the_model.correct("10") == "10"
    stated_twice = check_arithmetic("Ann has 3 x 3 = 8 marbles. Ben has 5 + 3 = 8 marbles. The answer is 8.")
    assert stated_twice.correct("8") == "8"
    given = check_arithmetic("He buys 3 x 4 = 13 pens. His sister is 13, so in 5 years she is 13 + 5 = 18.")
    assert given.correct("18") == "18"  # a wrong result is not carried into later equations


@pytest.mark.parametrize("text", [
    "1 + " * 50_000, "1+(" * 50_000, "(" * 100_000 + "1 + 1 = 3", " + ".join(["1"] * 10_000) + " = 5",
    "9" * 100_000 + " + 1 = 2", "99999999 * " * 20_000 + "9 = 1", "1 = " * 50_000, "1 x " * 50_000,
])
def test_hostile_text_is_checked_in_linear_time_and_reads_nothing_unbounded(text: str) -> None:
    # each would take seconds to minutes with quadratic matching (measured: 25 s for 64k chars of "1 + ")
    assert check_arithmetic(text).corrections == ()


def test_a_long_chain_is_not_read_but_one_within_the_limit_is() -> None:
    too_long = " + ".join(["1"] * (MAX_OPERATORS + 2)) + " = 3"  # one operator more than read
    assert check_arithmetic(too_long).corrections == ()
    longest = " + ".join(["1"] * (MAX_OPERATORS + 1)) + " = 3"
    assert [c.computed for c in check_arithmetic(longest).corrections] == [str(MAX_OPERATORS + 1)]


def test_the_cot_trace_lists_the_corrections_and_the_vote_counts_corrected_answers() -> None:
    samples = ["7 + 7 = 70. The answer is 70.", "7 + 7 = 14. The answer is 14.", "The answer is 70."]
    result = ChainOfThoughtRunner(MockBackend(samples), n=3).run("q")
    assert (result.answer, result.votes) == ("14", {"14": 2, "70": 1})
    first = result.trace.steps[0]
    assert first.data["answer"] == "14" and first.data["corrections"] == ["7 + 7 = 70 -> 14"]
    assert "corrections" not in result.trace.steps[1].data


def test_check_arithmetic_must_be_a_bool() -> None:
    with pytest.raises(ConfigError, match="check_arithmetic must be true or false, got 'False'"):
        ChainOfThoughtRunner(MockBackend(), check_arithmetic="False")  # type: ignore[arg-type]
