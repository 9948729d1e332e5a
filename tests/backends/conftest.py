"""Real OpenAI-compatible servers for the backend tests, on the embedded model: llama-cpp-python's, and
llama.cpp's own batching ``llama-server`` (built by ``make llama-server``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from promptlab.backends.llama_server import llama_server as serve_gguf
from promptlab.backends.openai import OpenAIBackend


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """``python -m llama_cpp.server`` on 127.0.0.1 with the embedded GGUF; yields its ``/v1`` URL."""
    with serve_gguf(n_ctx=2048) as url:
        yield url


@pytest.fixture(scope="session")
def openai_tool_backend(tool_server: str) -> Iterator[OpenAIBackend]:
    backend = OpenAIBackend(tool_server, dialect="llama-cpp", timeout=120, max_retries=1)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def openai_backend(llama_server: str) -> Iterator[OpenAIBackend]:
    """OpenAIBackend talking to the local llama-cpp-python server."""
    backend = OpenAIBackend(llama_server, dialect="llama-cpp", timeout=60, max_retries=1)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def llama_server_backend(native_server: str) -> Iterator[OpenAIBackend]:
    """OpenAIBackend talking to llama.cpp's own server (dialect detected, as a user's would be)."""
    backend = OpenAIBackend(native_server, timeout=60, max_retries=1)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def llama_server_tool_backend(native_server: str) -> Iterator[OpenAIBackend]:
    """llama-server with JSON tool calls (tool_format="json"): the embedded model's template has no tool support."""
    backend = OpenAIBackend(native_server, timeout=60, max_retries=1, tool_format="json")
    yield backend
    backend.close()
