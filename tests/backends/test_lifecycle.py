"""One lifecycle and one concurrency policy on every engine: mock, llama.cpp, transformers, a real server.

After ``close()`` every call raises :class:`BackendClosedError` (never a crash); calls from a
thread pool on one backend all return the answer a lone call returns (local engines serialise
or batch them, servers run them side by side).
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from promptlab.backends.base import Backend
from promptlab.backends.mock import MockBackend
from promptlab.errors import BackendClosedError

# Questions the embedded model answers with a clear greedy margin: a batched decode rounds
# differently from a lone one, and "0 + 0" (end of text vs " 1" nearly tied) flipped under CI.
PROMPTS = [f"Question {i}: what is {i} + {i}? Answer:" for i in range(1, 5)]


def _mock() -> Backend:
    return MockBackend(rules=[(r"what is (\d+)", lambda p: f" {2 * int(p.split('is ')[1].split(' ')[0])}.")])


def _llamacpp() -> Backend:
    from promptlab.backends.llamacpp import LlamaCppBackend

    return LlamaCppBackend(n_ctx=512)


def _hf() -> Backend:
    from promptlab.backends.embedded import embedded_model_path
    from promptlab.backends.hf import HFBackend

    return HFBackend(embedded_model_path(), device="cpu")


def _hf_tiny() -> Backend:
    """A tiny random Llama through transformers: the same engine code, seconds instead of minutes on 2 CPUs."""
    import tempfile

    from promptlab.backends.hf import HFBackend
    from tests.backends.hf_models import build_tiny_llama

    return HFBackend(build_tiny_llama(Path(tempfile.mkdtemp(prefix="tiny-llama-"))), device="cpu")


ENGINES: dict[str, Callable[..., Backend]] = {"mock": _mock, "llamacpp": _llamacpp, "hf": _hf_tiny}
SLOW = pytest.mark.slow


@pytest.fixture(params=["mock", pytest.param("llamacpp", marks=SLOW), pytest.param("hf", marks=SLOW),
                        pytest.param("openai", marks=SLOW)])
def engine(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A fresh backend of each kind (the OpenAI one on a real llama_cpp.server)."""
    if request.param == "openai":
        from promptlab.backends.openai import OpenAIBackend

        backend: Backend = OpenAIBackend(request.getfixturevalue("llama_server"), max_retries=1)
    else:
        backend = ENGINES[request.param]()
    yield backend
    backend.close()


class Answer(BaseModel):
    value: int


def test_every_call_after_close_raises_backend_closed(engine: Backend) -> None:
    engine.complete(PROMPTS[0], max_new_tokens=4)
    engine.close()
    engine.close()  # idempotent
    assert engine.closed
    calls: list[Callable[[], Any]] = [
        lambda: engine.complete("x", max_new_tokens=2),
        lambda: engine.generate_batch(["x", "y"], max_new_tokens=2),
        lambda: engine.chat([{"role": "user", "content": "x"}], max_new_tokens=2),
        lambda: engine.stream("x", max_new_tokens=2),
        lambda: engine.count_tokens("x"),
        lambda: engine.generate_structured("x", Answer),
        lambda: asyncio.run(engine.agenerate("x", max_new_tokens=2)),
        lambda: asyncio.run(engine.achat([{"role": "user", "content": "x"}], max_new_tokens=2)),
    ]
    for call in calls:
        with pytest.raises(BackendClosedError, match="closed"):
            call()


def test_a_thread_pool_on_one_backend_gets_the_answers_of_lone_calls(engine: Backend) -> None:
    alone = [engine.complete(p, max_new_tokens=4).text for p in PROMPTS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda p: engine.complete(p, max_new_tokens=4).text, PROMPTS))
    assert together == alone
    assert len(set(alone)) > 1  # the prompts differ, so a mixed-up answer would show


def test_asyncio_tasks_on_one_backend_get_the_answers_of_lone_calls(engine: Backend) -> None:
    alone = [engine.complete(p, max_new_tokens=4).text for p in PROMPTS[:4]]

    async def together() -> list[str]:
        results = await asyncio.gather(*(engine.agenerate(p, max_new_tokens=4) for p in PROMPTS[:4]))
        return [r[0].text for r in results]

    assert asyncio.run(together()) == alone


def test_a_backend_is_a_context_manager_that_closes() -> None:
    with _mock() as llm:
        llm.complete(PROMPTS[1])
    assert llm.closed


@SLOW
def test_closing_the_hf_backend_releases_the_model() -> None:
    llm = _hf()
    model = weakref.ref(llm.model)  # type: ignore[attr-defined]
    llm.complete("Hi", max_new_tokens=2)
    llm.close()
    gc.collect()
    assert model() is None
    with pytest.raises(BackendClosedError):
        _ = llm.model  # type: ignore[attr-defined]
