"""Concurrent calls on the transformers backend: micro-batched, each failing or cancelled alone."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from promptlab.backends._hf_batching import Job, MicroBatcher
from promptlab.backends.base import Completion
from promptlab.config import GenerationConfig
from tests.backends.hf_models import CORPUS, build_tiny_llama


def _job(text: str, config: GenerationConfig | None = None) -> Job:
    config = config or GenerationConfig(max_new_tokens=4)
    return Job(tokens=[ord(c) for c in text], config=config, adapter=None, budget=config.max_new_tokens)


def _answer(job: Job) -> list[Completion]:
    text = "".join(chr(t) for t in job.tokens)
    if text == "bad":
        raise ValueError("bad prompt")
    return [Completion(text=text.upper(), finish_reason="eos")]


class _Recorder:
    """run_one / run_many that record batch sizes; the first call blocks until released."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def one(self, job: Job) -> list[Completion]:
        self._wait_first()
        self.sizes.append(1)
        return _answer(job)

    def many(self, jobs: list[Job]) -> list[list[Completion]]:
        self._wait_first()
        self.sizes.append(len(jobs))
        return [_answer(job) for job in jobs]

    def _wait_first(self) -> None:
        if not self.started.is_set():
            self.started.set()
            self.release.wait(10)


def _run_while_the_first_blocks(batcher: MicroBatcher, recorder: _Recorder, jobs: list[Job]) -> dict[int, Any]:
    outcomes: dict[int, Any] = {}

    def call(index: int) -> None:
        try:
            outcomes[index] = batcher.run(jobs[index])
        except BaseException as exc:
            outcomes[index] = exc

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert recorder.started.wait(10)
    rest = [threading.Thread(target=call, args=(i,)) for i in range(1, len(jobs))]
    for thread in rest:
        thread.start()
    while len(batcher._queue) < len(jobs) - 1:
        threading.Event().wait(0.01)
    recorder.release.set()
    for thread in [first, *rest]:
        thread.join(10)
    return outcomes


def test_calls_arriving_during_a_batch_share_the_next_one() -> None:
    recorder = _Recorder()
    batcher = MicroBatcher(recorder.one, recorder.many)
    outcomes = _run_while_the_first_blocks(batcher, recorder, [_job(t) for t in ("a", "b", "c", "d")])
    assert recorder.sizes == [1, 3]
    assert [outcomes[i][0].text for i in range(4)] == ["A", "B", "C", "D"]


def test_calls_with_other_knobs_or_samples_run_apart() -> None:
    recorder = _Recorder()
    batcher = MicroBatcher(recorder.one, recorder.many)
    jobs = [_job("a"), _job("b"), _job("c", GenerationConfig(max_new_tokens=9)), _job("d"),
            _job("e", GenerationConfig(max_new_tokens=4, n=2, temperature=1.0))]
    outcomes = _run_while_the_first_blocks(batcher, recorder, jobs)
    assert recorder.sizes == [1, 2, 1, 1]  # a; b with d; c; e
    assert all(isinstance(outcomes[i], list) for i in range(5))


def test_a_bad_call_in_a_batch_fails_alone() -> None:
    recorder = _Recorder()

    def many(jobs: list[Job]) -> list[list[Completion]]:
        recorder._wait_first()
        recorder.sizes.append(len(jobs))
        if any(job.tokens == [ord(c) for c in "bad"] for job in jobs):
            raise ValueError("bad prompt")
        return [_answer(job) for job in jobs]

    batcher = MicroBatcher(recorder.one, many)
    outcomes = _run_while_the_first_blocks(batcher, recorder, [_job(t) for t in ("a", "b", "bad", "d")])
    assert isinstance(outcomes[2], ValueError)
    assert [outcomes[i][0].text for i in (0, 1, 3)] == ["A", "B", "D"]


def test_a_call_cancelled_before_its_batch_is_dropped() -> None:
    recorder = _Recorder()
    batcher = MicroBatcher(recorder.one, recorder.many)
    jobs = [_job(t) for t in ("a", "b", "c")]
    jobs[1].future.cancel()
    outcomes = _run_while_the_first_blocks(batcher, recorder, jobs)
    assert recorder.sizes == [1, 1]
    assert type(outcomes[1]).__name__ == "CancelledError"
    assert outcomes[2][0].text == "C"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from promptlab.backends.hf import HFBackend

    return HFBackend(build_tiny_llama(tmp_path_factory.mktemp("tiny-llama")), device="cpu", batch_calls=True)


@pytest.mark.parametrize("preamble", ["", " ".join(CORPUS[:3]) + "\n"], ids=["apart", "shared-prefix"])
def test_concurrent_calls_give_the_texts_of_calls_made_one_by_one(tiny: Any, preamble: str) -> None:
    """Rows padded whole, or a shared few-shot preamble encoded once with each row's own suffix after it."""
    prompts = [preamble + text for text in CORPUS if len(text) > 40]
    expected = [tiny.generate(p, max_new_tokens=8, stop=["!"])[0] for p in prompts]
    sizes: list[int] = []
    together = tiny._generate_together

    batched: list[Completion] = []

    def recording(jobs: list[Job]) -> list[list[Completion]]:
        sizes.append(len(jobs))
        found: list[list[Completion]] = together(jobs)
        batched.extend(c for row in found for c in row)
        return found

    tiny._batcher._run_many = recording
    results: dict[int, Completion] = {}
    start = threading.Barrier(len(prompts))

    def call(index: int) -> None:
        start.wait()
        results[index] = tiny.generate(prompts[index], max_new_tokens=8, stop=["!"])[0]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sizes and max(sizes) > 1
    for got, want in zip([results[i] for i in range(len(prompts))], expected, strict=True):
        assert (got.text, got.finish_reason, got.usage.prompt_tokens) == (want.text, want.finish_reason,
                                                                           want.usage.prompt_tokens)
    # the preamble came from the prefix cache (the calls above left it there), once for the whole batch
    assert all(bool(c.usage.cached_prompt_tokens) == bool(preamble) for c in batched)


def test_calls_are_not_batched_on_the_cpu_unless_asked(tmp_path: Any) -> None:
    from promptlab.backends.hf import HFBackend

    backend = HFBackend(build_tiny_llama(tmp_path), device="cpu")
    batches: list[int] = []
    backend._batcher._run_many = lambda jobs: batches.append(len(jobs))  # type: ignore[method-assign]
    prompts = [text for text in CORPUS if len(text) > 40]
    with ThreadPoolExecutor(len(prompts)) as pool:
        replies = list(pool.map(lambda p: backend.complete(p, max_new_tokens=4), prompts))
    assert len(replies) == len(prompts) and batches == []
