import gzip
import json
from pathlib import Path

import pytest

from promptlab.eval.datasets import load_dataset
from promptlab.eval.metrics import exact_match, f1_score, normalize_qa, numeric_match, score, stated_number


@pytest.mark.parametrize(("text", "value"), [
    ("18", 18.0), ("1,450,000", 1450000.0), ("$18.", 18.0), ("-3", -3.0), ("0.5", 0.5), ("3/4", 0.75),
    ("The answer is 42 apples.", 42.0), ("between 3 and 7", 7.0), ("12.50 dollars", 12.5),
])
def test_stated_number(text: str, value: float) -> None:
    assert stated_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", [None, "", "no idea", "inf", "nan", "1/0"])
def test_stated_number_without_a_number(text: str | None) -> None:
    assert stated_number(text) is None


def test_numeric_tolerance_is_pals() -> None:
    assert numeric_match("5.0004", "5")
    assert not numeric_match("5.002", "5")
    assert numeric_match("43", "43.0")
    assert not numeric_match(None, "1")


def test_pal_gsm_targets_agree_with_gsm8k_answers() -> None:
    """SOURCES.md: PAL's gsm.jsonl targets equal the GSM8K #### answers; our parsing must agree."""
    gsm8k = load_dataset("gsm8k")
    path = Path(__file__).resolve().parents[1] / "data" / "reference" / "pal" / "datasets" / "gsm.jsonl.gz"
    pal = [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()]
    assert all(numeric_match(str(p["target"]), e.answer) for p, e in zip(pal, gsm8k.items, strict=True))


def test_hotpotqa_normalisation() -> None:
    assert normalize_qa("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_qa("An apple, a day") == "apple day"
    assert exact_match("the Chief of Protocol.", "Chief of Protocol")
    assert not exact_match("Chief", "Chief of Protocol")


def test_hotpotqa_f1() -> None:
    assert f1_score("Chief of Protocol", "Chief of Protocol") == 1.0
    # "chief" vs "chief of protocol": precision 1, recall 1/3
    assert f1_score("Chief", "Chief of Protocol") == pytest.approx(0.5)
    assert f1_score("nothing alike", "Chief of Protocol") == 0.0
    assert f1_score(None, "x") == 0.0


def test_hotpotqa_yes_no_rule() -> None:
    assert f1_score("yes", "no") == 0.0
    assert f1_score("yes it is", "yes") == 0.0  # the reference is yes/no: anything else scores 0
    assert f1_score("no", "no way") == 0.0
    assert f1_score("Yes.", "yes") == 1.0


def test_score_dispatches_on_task() -> None:
    assert score("math", "The answer is 18.", "18").correct
    qa = score("qa", "Paris France", "Paris")
    assert not qa.correct and qa.f1 == pytest.approx(2 / 3)
    assert score("math", "18", "18").f1 is None
