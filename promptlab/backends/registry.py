"""load_backend: build a backend from a short spec string (CLI, examples, configs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptlab.backends.base import Backend
from promptlab.backends.mock import MockBackend
from promptlab.backends.options import bind_options, split_spec
from promptlab.errors import BackendSpecError, requires

__all__ = ["SPEC_FORMS", "load_backend"]

SPEC_FORMS = (
    "mock                 a mock that needs responses added in Python",
    "mock:FILE.json       a mock answering from a JSON list of responses",
    "mock:FILE.jsonl      a mock replaying a recording made with RecordingBackend",
    "llamacpp             the embedded SmolLM2-135M-Instruct GGUF model",
    "llamacpp:PATH.gguf   any GGUF model through llama.cpp",
    "hf:PATH              a transformers model directory, or a .gguf file loaded by transformers",
    "openai:URL           an OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1",
    "SPEC?KEY=VALUE&...   any of them with constructor options, e.g. llamacpp:m.gguf?n_ctx=8192",
)


def load_backend(spec: str, **options: Any) -> Backend:
    """Build the backend a spec names.

    Options come from the spec (``llamacpp:m.gguf?n_ctx=8192``, converted to the constructor's
    annotations) and from ``options`` (Python values, which win); both are checked against the
    backend's constructor, so a misspelt key is an error listing the valid ones.
    """
    target_spec, texts = split_spec(spec.strip())
    kind, _, target = target_spec.partition(":")
    kind = kind.lower()
    if kind == "mock":
        return _mock(target, texts, options)
    if kind in ("llamacpp", "llama.cpp", "gguf"):
        with requires("llamacpp", "the llamacpp backend"):
            from promptlab.backends.llamacpp import LlamaCppBackend, llama_options

            passthrough = llama_options()
        bound = bind_options("llamacpp", LlamaCppBackend.__init__, texts, options, extra=passthrough)
        return LlamaCppBackend(target or None, **bound)
    if kind in ("hf", "transformers"):
        if not target:
            raise BackendSpecError("hf needs a path: hf:PATH (a model directory or a .gguf file)")
        with requires("hf", "the hf backend"):
            from promptlab.backends.hf import HFBackend
        return HFBackend(target, **bind_options("hf", HFBackend.__init__, texts, options))
    if kind == "openai":
        if not target:
            raise BackendSpecError("openai needs a server URL: openai:http://HOST:PORT/v1")
        from promptlab.backends.openai import OpenAIBackend

        return OpenAIBackend(target, **bind_options("openai", OpenAIBackend.__init__, texts, options))
    forms = "\n  ".join(SPEC_FORMS)
    raise BackendSpecError(f"unknown backend spec {spec!r}; valid forms:\n  {forms}")


def _mock(target: str, texts: dict[str, list[str]], options: dict[str, Any]) -> MockBackend:
    if not target:
        return MockBackend(**bind_options("mock", MockBackend.__init__, texts, options, skip=0))
    bind_options("mock", MockBackend.from_file, texts, options)  # a scripted or replayed mock takes no options
    if Path(target).suffix == ".jsonl":
        return MockBackend.replay(target)
    return MockBackend.from_file(target)
