import asyncio
import io

import pytest

from promptlab.backends import MockBackend
from promptlab.errors import BackendError
from promptlab.prompts import PromptTemplate
from promptlab.runners.direct import DirectRunner, clean_answer
from promptlab.tracing import read_traces


def test_direct_answers_from_the_first_line() -> None:
    backend = MockBackend(["Paris.\nQ: next question"])
    result = DirectRunner(backend).run("What is the capital of France?")
    assert result.ok and result.answer == "Paris"
    assert backend.prompts == ["Q: What is the capital of France?\nA:"]
    [step] = result.trace.steps
    assert step.completion == "Paris."  # the default stop "\n" cut the made-up next question
    assert step.prompt_tokens > 0 and step.data["finish_reason"] == "stop"
    assert result.votes == {} and result.agreement is None


def test_samples_vote_over_normalised_answers() -> None:
    result = DirectRunner(MockBackend(["$18", "18 dollars", "17"]), n=3).run("How much?")
    assert result.answer == "18"
    assert result.votes == {"18": 2, "17": 1}
    assert result.agreement == pytest.approx(2 / 3)
    assert [s.kind for s in result.trace.steps] == ["generate", "generate", "generate", "vote"]


def test_n_samples_are_not_greedy() -> None:
    assert DirectRunner(MockBackend(), n=4).config.temperature > 0
    assert DirectRunner(MockBackend(), n=4, temperature=0.3).config.temperature == 0.3
    assert DirectRunner(MockBackend()).config.temperature == 0


def test_an_empty_completion_is_no_answer() -> None:
    result = DirectRunner(MockBackend(["  "])).run("q")
    assert result.answer is None and result.status == "no_answer"


def test_async_run_and_trace_sink() -> None:
    sink = io.StringIO()
    template = PromptTemplate.from_string("Question: {{ question }}\nAnswer:")
    result = asyncio.run(DirectRunner(MockBackend(["Answer: 42"]), template=template).arun("q", trace=sink))
    assert result.answer == "42"
    assert sink.getvalue().count("\n") == 3  # start, step, end


def test_a_backend_error_closes_the_trace(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.jsonl"
    with pytest.raises(BackendError):
        DirectRunner(MockBackend()).run("q", trace=path)
    [trace] = read_traces(path)
    assert trace.status == "error" and trace.steps[-1].kind == "error"


@pytest.mark.parametrize(("text", "answer"), [
    ("Answer: 7", "7"), ("\n\n  Paris  \n", "Paris"), ("A: yes.", "yes"), ("1,200 apples", "1200"), ("", None),
])
def test_clean_answer(text: str, answer: str | None) -> None:
    assert clean_answer(text) == answer
