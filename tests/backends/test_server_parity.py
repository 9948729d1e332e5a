"""The same GGUF in process and behind llama-cpp-python's server gives the same greedy text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from promptlab.backends.llamacpp import LlamaCppBackend
from promptlab.backends.openai import OpenAIBackend
from promptlab.errors import ContextLengthError

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_llamacpp() -> Iterator[LlamaCppBackend]:
    """A backend with an empty KV cache: the batching engine's greedy text can differ at near-tied
    logits depending on which cache cells a reused prefix occupies, so parity is checked from a clean state."""
    with LlamaCppBackend(seed=0) as backend:
        yield backend

PROMPTS = [
    "The capital of France is",
    "Question: Which planet is the largest?\nThought:",
    "def fibonacci(n):\n",
]


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize(
    "knobs",
    [{}, {"repetition_penalty": 1.3}, {"stop": ["\n"]}],
    ids=["greedy", "repetition-penalty", "stop"],
)
def test_greedy_text_is_identical(
    fresh_llamacpp: LlamaCppBackend, openai_backend: OpenAIBackend, prompt: str, knobs: dict[str, object]
) -> None:
    local = fresh_llamacpp.complete(prompt, max_new_tokens=24, **knobs)  # type: ignore[arg-type]
    served = openai_backend.complete(prompt, max_new_tokens=24, **knobs)  # type: ignore[arg-type]
    assert served.text == local.text
    assert (served.finish_reason, served.stop) == (local.finish_reason, local.stop)


def test_chat_replies_are_identical(fresh_llamacpp: LlamaCppBackend, openai_backend: OpenAIBackend) -> None:
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    local = fresh_llamacpp.chat(messages, max_new_tokens=24)[0]
    served = openai_backend.chat(messages, max_new_tokens=24)[0]
    assert served.text == local.text


def test_token_counts_agree(llamacpp_backend: LlamaCppBackend, openai_backend: OpenAIBackend) -> None:
    for prompt in PROMPTS:
        assert openai_backend.count_tokens(prompt) == llamacpp_backend.count_tokens(prompt)


def test_a_prompt_beyond_the_server_context_raises(openai_backend: OpenAIBackend) -> None:
    with pytest.raises(ContextLengthError, match="context"):
        openai_backend.complete("word " * 2100, max_new_tokens=4)


def test_min_p_is_honoured_by_the_server_too(llamacpp_backend: LlamaCppBackend, openai_backend: OpenAIBackend) -> None:
    # min_p=1 keeps only the most likely token, so even a very hot sample is the greedy text.
    prompt = PROMPTS[0]
    greedy = llamacpp_backend.complete(prompt, max_new_tokens=16).text
    hot = {"temperature": 5.0, "seed": 3, "max_new_tokens": 16}
    assert openai_backend.complete(prompt, min_p=1.0, **hot).text == greedy  # type: ignore[arg-type]
    assert openai_backend.complete(prompt, **hot).text != greedy  # type: ignore[arg-type]


def test_a_plain_openai_spec_detects_the_server_and_matches_in_process(
    llamacpp_backend: LlamaCppBackend, llama_server: str
) -> None:
    """`openai:URL` with no options: the dialect is detected, so the server's defaults never leak in."""
    from promptlab.backends.registry import load_backend

    with load_backend(f"openai:{llama_server}") as served:
        for prompt in PROMPTS:
            local = llamacpp_backend.complete(prompt, max_new_tokens=24)
            assert served.complete(prompt, max_new_tokens=24).text == local.text
        assert served.dialect == "llama-cpp"  # type: ignore[attr-defined]
