"""Grounded answers: numbers the question gives, answers a rationale derives from them, and weighted votes."""

from __future__ import annotations

import json
import time
from fractions import Fraction
from pathlib import Path

import pytest

from promptlab.backends.mock import MockBackend
from promptlab.errors import ConfigError
from promptlab.runners import Ballot, ChainOfThoughtRunner, majority_vote
from promptlab.runners.arithmetic import check_arithmetic
from promptlab.runners.grounding import given_numbers, is_grounded

REAL_VOTES = Path(__file__).parent / "data" / "smollm2_cot_grounded_votes.jsonl"


def numbers(*values: int | str) -> set[Fraction]:
    return {Fraction(v) for v in values}


def test_given_numbers_reads_digits_fractions_percentages_and_words() -> None:
    assert given_numbers("Tom has 1,200 stamps and 2.5 kg of rice.") == numbers(1200, "2.5")
    assert given_numbers("She ate 3/4 of the pie") == numbers(3, 4, "3/4")
    assert given_numbers("a 25% discount on $80") == numbers(25, "1/4", 80)
    assert given_numbers("Five boys and twenty-one girls bought a dozen eggs") == numbers(5, 21, 12)
    assert given_numbers("She spent half of it, twice a week") == numbers("1/2", 2)
    assert given_numbers("Version 1.2.3 on 3/0") == numbers(3, 0)  # no value from a version or a zero denominator
    assert given_numbers("How many are there?") == frozenset()
    assert given_numbers("a 1,500% rise and .5 kg") == numbers(1500, 15, "0.5")
    assert given_numbers("twenty one boys, a fourth of them") == numbers(21, "1/4", 4)
    assert given_numbers("One of them has zero") == frozenset()  # "one" and "zero" are no operands


def test_given_numbers_is_linear_on_hostile_questions() -> None:
    question = ("1,000,000.5 " * 5_000) + ("twenty-one dozen halves 3/4 25% " * 5_000) + "9" * 100_000
    started = time.perf_counter()
    assert Fraction(21) in given_numbers(question)
    assert time.perf_counter() - started < 10  # a bound against backtracking, not a benchmark


def grounded(text: str, answer: str, question: str) -> bool:
    return is_grounded(check_arithmetic(text), answer, given_numbers(question))


QUESTION = "Jose starts with 7 bottle caps. He gets 2 more from Rebecca. How many does he end with?"


@pytest.mark.parametrize(("text", "answer", "expected"), [
    ("7 + 2 = 9. The answer is 9.", "9", True),
    ("7 + 2 = 11. The answer is 11.", "9", True),           # grounded once the check corrects it
    ("7 x 10 = 70. The answer is 70.", "70", False),        # 10 is not in the question
    ("He has 9 caps. The answer is 9.", "9", False),        # stated, never computed
    ("7 x 2 = 14. 14 - 5 = 9. The answer is 9.", "9", False),  # 5 comes from nowhere
    ("7 - 2 = 5. 5 + 2 = 7. The answer is 7.", "7", True),  # builds on a grounded result
    ("7 x 10 = 70. 70 - 61 = 9. The answer is 9.", "9", False),  # an ungrounded result grounds nothing
    ("2 - 7 = -5. The answer is -5.", "-5", True),
    ("7 + 2 = 9.", "nine", False),
    ("7 * 1 = 7. 7 + 0 = 7. The answer is 7.", "7", False),  # restating a given computes nothing
    ("7 - 2 = 5. 5 - 1 = 4.", "4", False),                  # 1 is not given
    ("7 - 2 = 5. 7 - 5 = 2. The answer is 2.", "2", True),  # a result that equals a given is still computed
])
def test_an_answer_is_grounded_when_a_stated_equation_computes_it_from_the_question(
        text: str, answer: str, expected: bool) -> None:
    assert grounded(text, answer, QUESTION) is expected


def test_grounding_is_linear_on_hostile_text() -> None:
    text = "1 + 1 = 2. " * 5_000
    started = time.perf_counter()
    assert grounded(text, "2", "1 and 1") is True
    assert grounded(text, "3", "1 and 1") is False
    assert time.perf_counter() - started < 10  # a bound against quadratic blow-ups, not a benchmark


def test_weighted_majority_vote_ranks_by_weight_and_keeps_counts() -> None:
    vote = majority_vote(["70", "70", "70", "14", "14"], [0.25, 0.25, 0.25, 1.0, 1.0])
    assert vote.answer == "14" and vote.votes == {"14": 2, "70": 3} and vote.scores == {"14": 2.0, "70": 0.75}
    assert vote.agreement == pytest.approx(0.4)
    tie = majority_vote(["5", "6", "6"], [0.1, 0.2, 0.0])  # 0.1 + 0.2 against 0.2 + 0.0: rounding keeps ties exact
    assert tie.answer == "6" and tie.scores == {"6": 0.2, "5": 0.1}
    with pytest.raises(ValueError, match="2 weights for 3 answers"):
        majority_vote(["1", "2", "3"], [1.0, 1.0])
    with pytest.raises(ValueError, match="finite and not negative"):
        majority_vote(["1", "2"], [1.0, float("nan")])
    with pytest.raises(ValueError, match="above 0 and at most 1"):
        Ballot("1", weight=2.0)


def rationales(*texts: str) -> MockBackend:
    return MockBackend(list(texts))


def test_cot_weighs_ungrounded_votes_and_says_why_the_winner_won() -> None:
    llm = rationales("7 x 10 = 70. The answer is 70.", "7 + 2 = 9. The answer is 9.", "The answer is 70.",
                     "7 x 10 = 70. The answer is 70.", "7 + 2 = 9. The answer is 9.")
    result = ChainOfThoughtRunner(llm, n=5).run(QUESTION)
    assert result.answer == "9" and result.votes == {"9": 2, "70": 3}
    vote = result.trace.steps[-1]
    assert vote.data["weights"] == [0.25, 1.0, 0.25, 0.25, 1.0] and vote.data["scores"] == {"9": 2.0, "70": 0.75}
    assert result.detail == "9 won with 2 vote(s) weighing 2 against 70's 3 weighing 0.75"
    assert [s.data["grounded"] for s in result.trace.steps if s.kind == "generate"] == [False, True, False, False, True]


def test_ungrounded_weight_one_turns_grounding_off_and_bad_weights_are_refused() -> None:
    llm = rationales("7 x 10 = 70. The answer is 70.", "7 + 2 = 9. The answer is 9.", "The answer is 70.")
    result = ChainOfThoughtRunner(llm, n=3, ungrounded_weight=1).run(QUESTION)
    assert result.answer == "70" and "weights" not in result.trace.steps[-1].data
    assert all("grounded" not in s.data for s in result.trace.steps if s.kind == "generate")
    greedy_first = rationales("7 + 2 = 9. The answer is 9.", "The answer is 4.", "The answer is 4.")
    plain = ChainOfThoughtRunner(greedy_first, n=3, greedy_vote=True, adaptive=True, ungrounded_weight=1).run(QUESTION)
    assert (plain.answer, plain.samples) == ("4", 3)  # no early stop on the grounded greedy answer
    for bad in (0, -0.1, 1.5, float("nan"), "low", True):
        with pytest.raises(ConfigError, match="ungrounded_weight must be a number above 0 and at most 1"):
            ChainOfThoughtRunner(MockBackend(), ungrounded_weight=bad)  # type: ignore[arg-type]


def test_questions_without_numbers_and_non_numeric_answers_are_not_weighed() -> None:
    llm = rationales("The answer is Paris.", "The answer is Lyon.", "The answer is Paris.")
    result = ChainOfThoughtRunner(llm, n=3, extractor=r"answer is (\w+)").run("What is the capital of France?")
    assert result.answer == "Paris" and "weights" not in result.trace.steps[-1].data
    assert all("grounded" not in s.data for s in result.trace.steps if s.kind == "generate")


def test_an_adaptive_vote_stops_at_a_grounded_greedy_answer() -> None:
    llm = rationales("7 + 2 = 9. The answer is 9.", "The answer is 4.", "The answer is 4.")
    result = ChainOfThoughtRunner(llm, n=8, greedy_vote=True, adaptive=True).run(QUESTION)
    assert (result.answer, result.samples, len(llm.prompts)) == ("9", 1, 1)
    assert result.trace.steps[-1].data["stopped"] == {"reason": "grounded", "budget": 8}


def test_an_ungrounded_greedy_answer_keeps_sampling() -> None:
    llm = rationales("The answer is 4.", "7 + 2 = 9. The answer is 9.", "7 + 2 = 9. The answer is 9.")
    result = ChainOfThoughtRunner(llm, n=3, greedy_vote=True, adaptive=True).run(QUESTION)
    assert (result.answer, result.samples) == ("9", 3)


@pytest.mark.parametrize("row", [json.loads(line) for line in REAL_VOTES.read_text(encoding="utf-8").splitlines()],
                         ids=lambda row: row["item"])
def test_real_votes_of_the_embedded_model(row: dict[str, object]) -> None:
    """Four real votes per item: weighing the ungrounded ones turns a wrong plain vote into the reference."""
    texts, question = row["completions"], str(row["question"])
    assert isinstance(texts, list)
    ballots = [ChainOfThoughtRunner(MockBackend()).ballot(text, question) for text in texts]
    assert [b.grounded for b in ballots] == row["grounded"]
    plain = ChainOfThoughtRunner(rationales(*texts), n=4, ungrounded_weight=1).run(question)
    weighted = ChainOfThoughtRunner(rationales(*texts), n=4).run(question)
    assert (plain.answer, weighted.answer) == (row["plain_vote"], row["weighted_vote"])
    assert weighted.answer == row["reference"]
