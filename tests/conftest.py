"""Fixtures shared across test areas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from promptlab.backends.llamacpp import LlamaCppBackend


@pytest.fixture(scope="session")
def llamacpp_backend() -> Iterator[LlamaCppBackend]:
    """The embedded SmolLM2-135M GGUF model, loaded once per test session (mark tests using it slow)."""
    backend = LlamaCppBackend(seed=0)
    yield backend
    backend.close()
