"""LlamaCppBackend batching: n samples and concurrent calls decoded together, failures and cancels alone."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from promptlab.backends._llamacpp_engine import Request
from promptlab.backends._llamacpp_kv import KvBook, common_prefix
from promptlab.backends.llamacpp import LlamaCppBackend
from promptlab.config import GenerationConfig
from promptlab.errors import BackendError, ConfigError

PROMPT = "Question: What is the capital of France?\nAnswer: The capital"
OTHERS = ("The three primary colours are", "Once upon a time, a small dog", "def fibonacci(n):")
# Continuations with no near-tie between the two likeliest tokens: batched and lone decoding may differ
# in the last float bits, which flips a greedy choice only where two tokens are within a hair.
COUNTING = ("1, 2, 3, 4, 5, 6,", "Monday, Tuesday, Wednesday,", "A B C D E F G", "10, 20, 30, 40,")


def test_cells_shared_by_copied_sequences_count_once() -> None:
    book = KvBook(capacity=100)
    book.append(0, [1, 2, 3, 4])
    book.copy(0, 1, 3)
    book.append(1, [9])
    assert book.used == 5
    assert book.tokens(1) == [1, 2, 3, 9]
    book.truncate(0, 0)
    assert book.used == 4  # the three shared cells stay: sequence 1 holds them
    book.truncate(1, 2)
    assert (book.used, book.tokens(1)) == (2, [1, 2])


def test_common_prefix_of_token_lists() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([], [1]) == 0


def test_n_seq_max_is_bounded() -> None:
    with pytest.raises(ConfigError, match="n_seq_max"):
        LlamaCppBackend(n_seq_max=0)


def _idle(backend: LlamaCppBackend) -> bool:
    """No request in flight and every sequence either free or holding an idle cached prompt."""
    engine = backend._engine
    return not engine._active and not engine._queue and len(engine._free) + len(engine._idle) == 64


@pytest.mark.slow
def test_top_k_1_samples_are_the_greedy_completion(llamacpp_backend: LlamaCppBackend) -> None:
    one = llamacpp_backend.complete(PROMPT, max_new_tokens=10)
    several = llamacpp_backend.generate(PROMPT, n=4, max_new_tokens=10, temperature=1.0, top_k=1)
    assert [c.text for c in several] == [one.text] * 4
    assert [c.finish_reason for c in several] == [one.finish_reason] * 4


@pytest.mark.slow
def test_sample_i_is_seeded_seed_plus_i(llamacpp_backend: LlamaCppBackend) -> None:
    batched = llamacpp_backend.generate(PROMPT, n=3, temperature=1.0, max_new_tokens=6, seed=40)
    alone = [llamacpp_backend.complete(PROMPT, temperature=1.0, max_new_tokens=6, seed=40 + i) for i in range(3)]
    assert [c.text for c in batched] == [c.text for c in alone]
    assert len({c.text for c in batched}) > 1


@pytest.mark.slow
def test_each_sample_stops_on_its_own(llamacpp_backend: LlamaCppBackend) -> None:
    samples = llamacpp_backend.generate(PROMPT, n=6, temperature=1.0, max_new_tokens=12, stop=["."], seed=7)
    for sample in samples:
        assert "." not in sample.text
        assert (sample.finish_reason == "stop") == (sample.stop == ".")
        assert sample.usage.completion_tokens <= 12
    assert len({(s.finish_reason, s.usage.completion_tokens) for s in samples}) > 1


@pytest.mark.slow
def test_concurrent_calls_give_the_texts_of_calls_made_one_by_one(llamacpp_backend: LlamaCppBackend) -> None:
    prompts = list(COUNTING)
    expected = [llamacpp_backend.complete(p, max_new_tokens=8).text for p in prompts]
    results: dict[int, str] = {}
    start = threading.Barrier(len(prompts))

    def call(index: int) -> None:
        start.wait()
        results[index] = llamacpp_backend.complete(prompts[index], max_new_tokens=8).text

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(prompts))] == expected
    assert [r[0].text for r in llamacpp_backend.generate_batch(prompts, max_new_tokens=8)] == expected
    assert _idle(llamacpp_backend)


class _FailingMask:
    """A constraint state that breaks at the second token."""

    def __init__(self) -> None:
        self.tokens = 0

    @property
    def done(self) -> bool:
        return False

    def apply(self, logits: object) -> object:
        return logits

    def advance(self, token: int) -> None:
        self.tokens += 1
        if self.tokens == 2:
            raise BackendError("constrained decoding failed: test")


@pytest.mark.slow
def test_a_request_that_fails_mid_batch_fails_alone(llamacpp_backend: LlamaCppBackend) -> None:
    config = GenerationConfig(max_new_tokens=8)
    tokens = llamacpp_backend._prompt_tokens(PROMPT)
    failing = Request(prompt=tokens, config=config, seeds=[0], budget=8, masks=[_FailingMask()])
    healthy = llamacpp_backend._request(OTHERS[0], config)
    futures = [llamacpp_backend._engine.submit(failing), llamacpp_backend._engine.submit(healthy)]
    with pytest.raises(BackendError, match="test"):
        futures[0].result()
    assert futures[1].result()[0].text == llamacpp_backend.complete(OTHERS[0], config).text
    assert _idle(llamacpp_backend)


@pytest.mark.slow
def test_a_too_long_prompt_fails_alone_in_a_batch(llamacpp_backend: LlamaCppBackend) -> None:
    async def both() -> list[object]:
        return await asyncio.gather(
            llamacpp_backend.agenerate("word " * (llamacpp_backend.n_ctx + 10)),
            llamacpp_backend.agenerate(PROMPT, max_new_tokens=4), return_exceptions=True)

    too_long, fine = asyncio.run(both())
    assert "context window" in str(too_long)
    assert isinstance(fine, list) and fine[0].usage.completion_tokens == 4


@pytest.mark.slow
def test_a_cancelled_task_frees_its_sequences(llamacpp_backend: LlamaCppBackend) -> None:
    async def cancel_one() -> str:
        doomed = asyncio.create_task(llamacpp_backend.agenerate(OTHERS[1], max_new_tokens=2000, n=4, temperature=1.0))
        other = asyncio.create_task(llamacpp_backend.agenerate(PROMPT, max_new_tokens=12))
        await asyncio.sleep(0.5)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return (await other)[0].text

    assert asyncio.run(cancel_one()) == llamacpp_backend.complete(PROMPT, max_new_tokens=12).text
    deadline = time.monotonic() + 30
    while not _idle(llamacpp_backend) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _idle(llamacpp_backend)


@pytest.fixture(scope="module")
def cramped() -> Iterator[LlamaCppBackend]:
    """Room for 3 sequences and 64 cells: samples and calls must wait their turn."""
    backend = LlamaCppBackend(n_ctx=64, n_seq_max=3, seed=0)
    yield backend
    backend.close()


@pytest.mark.slow
def test_samples_beyond_the_free_sequences_run_in_waves(cramped: LlamaCppBackend) -> None:
    samples = cramped.generate(PROMPT, n=7, temperature=1.0, max_new_tokens=16, seed=3)
    assert len(samples) == 7
    assert all(0 < s.usage.completion_tokens <= 16 for s in samples)
    alone = cramped.complete(PROMPT, temperature=1.0, max_new_tokens=16, seed=3 + 6)
    assert samples[6].text == alone.text


@pytest.mark.slow
def test_calls_beyond_the_free_cells_wait_for_room(cramped: LlamaCppBackend) -> None:
    prompts = list(COUNTING)
    expected = [cramped.complete(p, max_new_tokens=12, stop=["\n"]).text for p in prompts]
    assert [r[0].text for r in cramped.generate_batch(prompts, max_new_tokens=12, stop=["\n"])] == expected
