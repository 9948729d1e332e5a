"""Backends: one contract (:class:`Backend`) in front of every engine.

Engines with heavy dependencies load on first use: ``from promptlab.backends import
LlamaCppBackend`` imports llama-cpp-python only when the class is instantiated.
"""

from __future__ import annotations

from contextlib import nullcontext
from importlib import import_module
from typing import TYPE_CHECKING, Any

from promptlab.backends.base import Backend, Capabilities, Completion, FinishReason, Usage
from promptlab.backends.mock import MockBackend
from promptlab.backends.recording import RecordingBackend
from promptlab.backends.registry import load_backend
from promptlab.errors import requires

if TYPE_CHECKING:
    from promptlab.backends.hf import HFBackend
    from promptlab.backends.llamacpp import LlamaCppBackend
    from promptlab.backends.openai import OpenAIBackend

_LAZY: dict[str, tuple[str, str | None]] = {
    "HFBackend": ("promptlab.backends.hf", "hf"),
    "LlamaCppBackend": ("promptlab.backends.llamacpp", "llamacpp"),
    "OpenAIBackend": ("promptlab.backends.openai", None),
}
"""Engine classes imported on first use: name -> (module, the extra installing its dependencies)."""

__all__ = [
    "Backend",
    "Capabilities",
    "Completion",
    "FinishReason",
    "HFBackend",
    "LlamaCppBackend",
    "MockBackend",
    "OpenAIBackend",
    "RecordingBackend",
    "Usage",
    "load_backend",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, extra = _LAZY[name]
        with requires(extra, name) if extra else nullcontext():
            return getattr(import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
