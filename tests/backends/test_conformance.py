"""One contract, every engine: the same tests over each backend in CASES.

Adding a backend is one entry: the name of a session fixture that yields it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from promptlab.backends.base import ALL_KNOBS, Backend
from promptlab.backends.mock import MockBackend
from promptlab.errors import BackendError, UnsupportedKnobError


@dataclass(frozen=True)
class Case:
    name: str
    fixture: str
    """A fixture (session-scoped for real models) that returns the backend."""
    """A module that must exist; the case is skipped until it does."""
    real: bool = True
    """A real model: marked slow, and its samples vary with the seed."""
    local_template: bool = True
    """format_chat renders the model's template locally (servers apply their own)."""


CASES = [
    Case("mock", "mock_backend", real=False),
    Case("llamacpp", "llamacpp_backend"),
    Case("hf", "hf_backend"),
    Case("openai", "openai_backend", local_template=False),
]

PROMPT = "Here is a list of the planets of the solar system, in order:"
MESSAGES = [{"role": "user", "content": "Name three colours."}]
NEVER = "\u2603never-generated\u2603"
KNOB_VALUES: dict[str, Any] = {
    "max_new_tokens": 3, "temperature": 0.7, "top_k": 5, "top_p": 0.9, "min_p": 0.1, "repetition_penalty": 1.3,
    "do_sample": False, "num_beams": 2, "n": 1, "stop": ("\n\n",), "seed": 1,
}  # fmt: skip


@pytest.fixture(scope="session")
def mock_backend() -> MockBackend:
    return MockBackend(default=" Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus and Neptune.\n\nThe end.")


@pytest.fixture(
    params=[pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.real else []) for c in CASES],
)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def backend(case: Case, request: pytest.FixtureRequest) -> Iterator[Backend]:
    yield request.getfixturevalue(case.fixture)


def greedy(backend: Backend, prompt: str = PROMPT, **overrides: Any) -> Any:
    return backend.complete(prompt, max_new_tokens=overrides.pop("max_new_tokens", 16), **overrides)


def test_greedy_decoding_is_deterministic(backend: Backend) -> None:
    first, second = greedy(backend), greedy(backend)
    assert first.text.strip()
    assert (first.text, first.finish_reason) == (second.text, second.finish_reason)


@pytest.mark.parametrize("limit", [1, 6])
def test_max_new_tokens_is_honoured(backend: Backend, limit: int) -> None:
    result = greedy(backend, max_new_tokens=limit)
    assert 1 <= result.usage.completion_tokens <= limit
    if result.finish_reason == "length":
        assert result.usage.completion_tokens == limit


def test_stop_sequences_are_trimmed_and_reported(backend: Backend) -> None:
    reference = greedy(backend, max_new_tokens=24).text
    stop, at = _stop_inside(reference)
    result = greedy(backend, max_new_tokens=24, stop=[NEVER, stop])
    assert result.text == reference[:at]
    assert (result.finish_reason, result.stop) == ("stop", stop)
    assert result.usage.completion_tokens <= 24


def test_streaming_yields_the_same_text_as_generate(backend: Backend) -> None:
    reference = greedy(backend, max_new_tokens=24).text
    stop, at = _stop_inside(reference)
    chunks = list(backend.stream(PROMPT, max_new_tokens=24, stop=[stop]))
    assert "".join(chunks) == reference[:at]
    assert not any(stop in chunk for chunk in chunks)


def test_n_samples(backend: Backend, case: Case) -> None:
    results = backend.generate(PROMPT, n=4, temperature=1.0, max_new_tokens=8, seed=5)
    assert len(results) == 4
    assert all(r.usage.completion_tokens >= 1 for r in results)
    if case.real:
        assert len({r.text for r in results}) > 1


def test_seed_makes_sampling_reproducible(backend: Backend) -> None:
    def run() -> list[str]:
        return [r.text for r in backend.generate(PROMPT, n=2, temperature=0.9, max_new_tokens=10, seed=42)]

    assert run() == run()


@pytest.mark.parametrize("knob", sorted(KNOB_VALUES))
def test_knobs_are_honoured_or_rejected_as_declared(backend: Backend, knob: str) -> None:
    assert set(KNOB_VALUES) == ALL_KNOBS
    overrides = {knob: KNOB_VALUES[knob], "max_new_tokens": 2}
    if knob in backend.capabilities.knobs:
        assert len(backend.generate(PROMPT, **overrides)) == 1
    else:
        with pytest.raises(UnsupportedKnobError, match=knob):
            backend.generate(PROMPT, **overrides)


def test_token_counting_matches_prompt_usage(backend: Backend) -> None:
    result = greedy(backend, max_new_tokens=2)
    assert result.usage.prompt_tokens == backend.count_tokens(PROMPT) > 5
    assert backend.count_tokens(PROMPT + " Mercury, Venus") > backend.count_tokens(PROMPT)


def test_chat_uses_the_model_template(backend: Backend, case: Case) -> None:
    reply = backend.chat(MESSAGES, max_new_tokens=12)[0]
    assert reply.text.strip()
    if case.local_template:
        prompt = backend.format_chat(MESSAGES)
        assert MESSAGES[0]["content"] in prompt and prompt != MESSAGES[0]["content"]
        assert reply.text == greedy(backend, prompt, max_new_tokens=12).text
    else:
        with pytest.raises(BackendError):
            backend.format_chat(MESSAGES)


def test_async_generation_matches_sync(backend: Backend) -> None:
    expected = greedy(backend, max_new_tokens=8).text
    results = asyncio.run(backend.agenerate_batch([PROMPT, PROMPT], max_new_tokens=8))
    assert [r[0].text for r in results] == [expected, expected]


def _stop_inside(text: str) -> tuple[str, int]:
    """A multi-character stop string that first occurs mid-way through ``text``, and where."""
    for at in range(len(text) // 3, len(text) - 4):
        stop = text[at : at + 4]
        if stop.strip() and text.find(stop) == at:
            return stop, at
    pytest.fail(f"no usable stop string inside {text!r}")
