"""load_backend: build a backend from a short spec string (CLI, examples, configs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptlab.backends.base import Backend
from promptlab.backends.mock import MockBackend
from promptlab.errors import BackendSpecError

__all__ = ["SPEC_FORMS", "load_backend"]

SPEC_FORMS = (
    "mock                 a mock that needs responses added in Python",
    "mock:FILE.json       a mock answering from a JSON list of responses",
    "mock:FILE.jsonl      a mock replaying a recording made with RecordingBackend",
    "llamacpp             the embedded SmolLM2-135M-Instruct GGUF model",
    "llamacpp:PATH.gguf   any GGUF model through llama.cpp",
    "hf:PATH              a transformers model directory, or a .gguf file loaded by transformers",
    "openai:URL           an OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1",
)


def load_backend(spec: str, **options: Any) -> Backend:
    """Build the backend a spec names; ``options`` go to the backend's constructor."""
    kind, _, target = spec.strip().partition(":")
    kind = kind.lower()
    if kind == "mock":
        if not target:
            return MockBackend(**options)
        if Path(target).suffix == ".jsonl":
            return MockBackend.replay(target)
        return MockBackend.from_file(target)
    if kind in ("llamacpp", "llama.cpp", "gguf"):
        from promptlab.backends.llamacpp import LlamaCppBackend

        return LlamaCppBackend(target or None, **options)
    if kind in ("hf", "transformers"):
        if not target:
            raise BackendSpecError("hf needs a path: hf:PATH (a model directory or a .gguf file)")
        from promptlab.backends.hf import HFBackend

        return HFBackend(target, **options)
    if kind == "openai":
        if not target:
            raise BackendSpecError("openai needs a server URL: openai:http://HOST:PORT/v1")
        from promptlab.backends.openai import OpenAIBackend

        return OpenAIBackend(target, **options)
    forms = "\n  ".join(SPEC_FORMS)
    raise BackendSpecError(f"unknown backend spec {spec!r}; valid forms:\n  {forms}")
