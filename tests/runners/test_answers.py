"""Answer extraction and numeric normalisation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlab.backends.mock import MockBackend
from promptlab.errors import ConfigError
from promptlab.runners.answers import (
    answer_is,
    answers_match,
    default_extractor,
    first_of,
    format_number,
    last_number,
    normalize_answer,
    parse_number,
    regex_extractor,
)
from promptlab.runners.cot import ChainOfThoughtRunner


@pytest.mark.parametrize(("text", "canonical"), [
    ("1,450,000", "1450000"),
    ("$1,450,000.00", "1450000"),
    ("18 dollars", "18"),
    ("5 km/h", "5"),
    ("-$5", "-5"),
    ("$-5", "-5"),
    ("−3", "-3"),  # the Unicode minus sign
    ("3/4", "0.75"),
    ("1 1/2", "1.5"),
    ("1/3", "0.3333333333"),
    ("25%", "25"),
    ("8.", "8"),
    ("8.50", "8.5"),
    (".5", "0.5"),
    ("**42**", "42"),
    ("-0", "0"),
    ("  Paris.  ", "Paris"),
    ("5 apples and 3 oranges", "5 apples and 3 oranges"),
    ("New   York", "New York"),
])
def test_normalize_answer(text: str, canonical: str) -> None:
    assert normalize_answer(text) == canonical


@pytest.mark.parametrize("text", ["abc", "12:30", "2/0", "1e5", "", "3 4"])
def test_not_a_single_number(text: str) -> None:
    assert parse_number(text) is None


def test_format_number_has_no_exponent_or_float_noise() -> None:
    assert format_number(1e20) == "100000000000000000000"
    assert format_number(0.1 + 0.2) == "0.3"
    assert format_number(-2.5) == "-2.5"
    assert format_number(float("inf")) == "inf"


@pytest.mark.parametrize(("completion", "span"), [
    ("So 21 - 15 = 6. The answer is 6.", "6"),
    ("The answer is $18.", "$18"),
    ("the final answer is: 1,450,000 dollars.\nQ: next", "1,450,000 dollars"),
    ("The answer is 18 because he had 3 more.", "18"),
    ("The answer is Paris.", "Paris"),
    ("The answer is 3.5.", "3.5"),
    ("The answer is \\boxed{7}.", "7"),
    ("He has 3-2 = 1 left, then loses 6: -5", "-5"),
    ("values 10, 20, 30", "30"),
    ("It costs 1,450,000 in total.", "1,450,000"),
    ("Result: \\boxed{12}", "12"),
])
def test_default_extractor(completion: str, span: str) -> None:
    assert default_extractor(completion) == span


def test_answer_is_and_last_number_both_take_the_last() -> None:
    text = "The answer is 4. Q: another. The answer is 9 apples."
    assert answer_is(text) == "9 apples"
    assert last_number(text) == "9"
    assert answer_is("The answer is 5.\nWait: 2 + 4 = 6, so the answer is:\n6") == "6"
    assert answer_is("The answer is 3. Then the answer is") == "3"  # a statement cut off does not count
    assert default_extractor("no answer here") is None
    assert last_number("from 2-3 apples") == "3"  # a hyphen between numbers is no sign


def test_an_answer_stated_as_an_equation_is_its_result() -> None:
    assert answer_is("The answer is 18 + 47 = 65.") == "65"  # not the 18 it starts with
    assert answer_is("The answer is 2 x 3 = 6 x 2 = 12.") == "12"  # a chain: its last result
    assert answer_is("The answer is $3 + $4 = $7 in all.") == "$7 in all"
    assert answer_is("The answer is 12, since 3 + 4 = 7.") == "12"  # an equation after the answer is not it
    assert answer_is("The answer is 25 because 5 x 5 = 25") == "25"


def test_regex_extractor_groups_and_position() -> None:
    text = "Answer: 3\nAnswer: 4"
    assert regex_extractor(r"Answer: (\d+)")(text) == "3"
    assert regex_extractor(r"Answer: (\d+)", which="last")(text) == "4"
    assert regex_extractor(r"\d+")(text) == "3"
    assert regex_extractor(r"Final: (\d+)")(text) is None
    with pytest.raises(ConfigError, match="invalid answer regex"):
        regex_extractor("(unclosed")


def test_first_of_tries_in_order() -> None:
    extract = first_of(regex_extractor(r"ANSWER=(\w+)"), last_number)
    assert extract("ANSWER=yes 12") == "yes"
    assert extract("only 12") == "12"


@pytest.mark.parametrize(("prediction", "target", "expected"), [
    ("8.0004", 8, True),
    ("8.01", 8, False),
    (7.9999, "8", True),
    ("$1,450,000", "1450000", True),
    ("Paris", "paris.", True),
    ("Lyon", "Paris", False),
    (None, 1, False),
    ("8", "eight", False),
])
def test_answers_match_with_pal_tolerance(prediction: str | float | None, target: str | float,
                                          expected: bool) -> None:
    assert answers_match(prediction, target) is expected


SEVERAL_ANSWERS = [json.loads(line) for line in
                   (Path(__file__).parent / "data" / "smollm2_cot_several_answers.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("sample", SEVERAL_ANSWERS, ids=lambda s: s["item"])
def test_real_samples_stating_several_answers_count_the_last_numeric_one(sample: dict[str, str]) -> None:
    assert sample["completion"].lower().count("answer is") > 1
    runner = ChainOfThoughtRunner(MockBackend([sample["completion"]]))
    assert runner.run(sample["question"]).answer == sample["answer"]
