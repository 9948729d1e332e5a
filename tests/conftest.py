"""Fixtures shared across test areas."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from promptlab.backends.llamacpp import LlamaCppBackend

REQUIRE_LLAMA_SERVER = "PROMPTLAB_REQUIRE_LLAMA_SERVER"
"""Set by ``make test``: a missing llama-server binary fails the tests that need it instead of skipping them."""

if TYPE_CHECKING:  # torch is imported only by the tests that load a transformers model
    from promptlab.backends.hf import HFBackend


@pytest.fixture(scope="session")
def llamacpp_backend() -> Iterator[LlamaCppBackend]:
    """The embedded SmolLM2-135M GGUF model, loaded once per test session (mark tests using it slow)."""
    backend = LlamaCppBackend(seed=0)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def hf_backend() -> HFBackend:
    """The embedded SmolLM2 GGUF loaded through transformers (de-quantized, fp32), once per session (slow)."""
    from promptlab.backends.embedded import embedded_model_path
    from promptlab.backends.hf import HFBackend

    return HFBackend(embedded_model_path(), device="cpu")


@pytest.fixture(scope="session")
def tool_server() -> Iterator[str]:
    """``python -m llama_cpp.server`` on the embedded GGUF with the ``chatml-function-calling`` chat format,
    which speaks OpenAI tool calls; yields its ``/v1`` URL (mark tests using it slow)."""
    from promptlab.backends.llama_server import llama_server

    with llama_server(n_ctx=2048, chat_format="chatml-function-calling") as url:
        yield url


@pytest.fixture(scope="session")
def native_server() -> Iterator[str]:
    """llama.cpp's ``llama-server`` on 127.0.0.1 with 4 parallel slots; yields its ``/v1`` URL."""
    from promptlab.backends.llama_server import llama_server_binary, native_llama_server

    try:
        llama_server_binary()
    except FileNotFoundError as missing:
        if os.environ.get(REQUIRE_LLAMA_SERVER):
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    with native_llama_server(parallel=4, n_ctx_per_slot=2048) as url:
        yield url
