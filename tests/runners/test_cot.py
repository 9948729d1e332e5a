"""ChainOfThoughtRunner on the mock backend: extraction on the real exemplars, self-consistency, traces."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from promptlab.backends.base import Capabilities
from promptlab.backends.mock import MockBackend
from promptlab.errors import BackendError, ConfigError
from promptlab.prompts.fewshot import Example, FixedSelector, load_examples
from promptlab.runners.cot import ChainOfThoughtRunner
from promptlab.tracing import read_traces

EXEMPLARS = load_examples(Path(__file__).parents[2] / "templates" / "examples" / "gsm8k_cot_8shot.jsonl")


@pytest.mark.parametrize("exemplar", EXEMPLARS, ids=lambda e: e.answer)
def test_extraction_on_the_gsm8k_exemplars(exemplar: Example) -> None:
    assert exemplar.rationale is not None
    backend = MockBackend([" " + exemplar.rationale + "\n\nQ: What comes next? A: The answer is 1234."])
    result = ChainOfThoughtRunner(backend).run(exemplar.question)
    assert result.status == "ok"
    assert result.answer == exemplar.answer
    assert result.votes == {} and result.agreement is None
    (step,) = result.trace.steps
    assert step.completion == " " + exemplar.rationale  # the stop trimmed the next exemplar
    assert step.prompt is not None and step.prompt.endswith(f"Q: {exemplar.question}\nA:")
    assert step.prompt.count("\nA: ") == 8  # the default 8 exemplars


def test_self_consistency_votes_in_one_batched_call() -> None:
    samples = ["3 + 3 = 6. The answer is 6.", "The answer is 5.", "So 6 in all. The answer is $6.00.",
               "I am not sure.", "The answer is 5."]
    backend = MockBackend(samples)
    result = ChainOfThoughtRunner(backend, n=5).run("How many?")
    assert len(backend.prompts) == 1  # one call for all 5 samples
    assert result.answer == "6"  # 6 and 5 tie at 2 votes: the first seen wins
    assert result.votes == {"6": 2, "5": 2}
    assert result.agreement == pytest.approx(2 / 5)
    kinds = [s.kind for s in result.trace.steps]
    assert kinds == ["generate"] * 5 + ["vote"]
    assert [s.data["answer"] for s in result.trace.steps[:5]] == ["6", "5", "6", None, "5"]
    assert result.trace.steps[1].prompt is None  # the prompt is recorded once per call


def test_self_consistency_samples_and_majority() -> None:
    backend = MockBackend(["The answer is 7.", "The answer is 8.", "The answer is 8."])
    runner = ChainOfThoughtRunner(backend, n=3)
    assert runner.config.temperature == 0.5 and runner.config.n == 3
    result = runner.run("q")
    assert (result.answer, result.agreement) == ("8", pytest.approx(2 / 3))
    assert ChainOfThoughtRunner(MockBackend(), n=3, temperature=1.2).config.temperature == 1.2


def test_backend_without_n_gets_one_call_per_sample_with_distinct_seeds() -> None:
    class OneAtATime(MockBackend):
        capabilities = Capabilities(knobs=Capabilities().knobs - {"n"})

    backend = OneAtATime(["The answer is 1.", "The answer is 2.", "The answer is 2."])
    result = ChainOfThoughtRunner(backend, n=3, seed=10).run("q")
    assert len(backend.prompts) == 3
    assert result.answer == "2" and result.votes == {"2": 2, "1": 1}


def test_no_answer_status() -> None:
    result = ChainOfThoughtRunner(MockBackend(["I cannot tell."])).run("q")
    assert (result.answer, result.status, result.ok) == (None, "no_answer", False)


def test_custom_regex_extractor_and_examples() -> None:
    pool = [Example(question="1+1?", rationale="1 + 1 = 2. The answer is 2.", answer="2")]
    backend = MockBackend(["Final: 12 (not 13)"])
    runner = ChainOfThoughtRunner(backend, examples=FixedSelector(pool), extractor=r"Final: (\d+)")
    result = runner.run("6+6?")
    assert result.answer == "12"
    assert backend.prompts[0] == "Q: 1+1?\nA: 1 + 1 = 2. The answer is 2.\n\nQ: 6+6?\nA:"
    assert runner.prompt("6+6?") == backend.prompts[0]


def test_default_stops_come_from_the_template() -> None:
    runner = ChainOfThoughtRunner(MockBackend())
    assert "\nQ:" in runner.config.stop and "\n\n" in runner.config.stop
    own = ChainOfThoughtRunner(MockBackend(), stop=("###",))
    assert own.config.stop == ("###",)


def test_trace_streams_to_jsonl(tmp_path: Path) -> None:
    sink = tmp_path / "trace.jsonl"
    result = ChainOfThoughtRunner(MockBackend(["The answer is 4.", "The answer is 4."]), n=2).run("2+2?", trace=sink)
    (trace,) = read_traces(sink)
    assert trace.answer == "4" and trace.status == "ok" and trace.strategy == "cot"
    assert [s.kind for s in trace.steps] == [s.kind for s in result.trace.steps]


def test_arun_shares_the_implementation() -> None:
    samples = ["The answer is 3.", "The answer is 9.", "The answer is 9."]
    sync = ChainOfThoughtRunner(MockBackend(samples), n=3).run("q")
    async_ = asyncio.run(ChainOfThoughtRunner(MockBackend(samples), n=3).arun("q"))
    assert (async_.answer, async_.votes, async_.agreement) == (sync.answer, sync.votes, sync.agreement)
    assert [s.data for s in async_.trace.steps] == [s.data for s in sync.trace.steps]


def test_backend_failure_closes_the_trace_and_raises(tmp_path: Path) -> None:
    sink = tmp_path / "trace.jsonl"
    with pytest.raises(BackendError, match="no response"):
        ChainOfThoughtRunner(MockBackend()).run("q", trace=sink)
    (trace,) = read_traces(sink)
    assert trace.status == "error"
    assert trace.steps[-1].kind == "error" and re.search("no response", trace.steps[-1].observation or "")


def test_greedy_n_with_explicit_zero_temperature_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="identical"):
        ChainOfThoughtRunner(MockBackend(), n=3, temperature=0.0, do_sample=False)


@pytest.mark.parametrize("question", ["", "   \n"])
def test_an_empty_question_is_a_clear_error_before_any_model_call(question: str) -> None:
    backend = MockBackend(default="The answer is 1.")
    with pytest.raises(ConfigError, match="question is empty"):
        ChainOfThoughtRunner(backend).run(question)
    assert backend.prompts == []
