"""Backends: one contract (:class:`Backend`) in front of every engine.

Engines with heavy dependencies load on first use: ``from promptlab.backends import
LlamaCppBackend`` imports llama-cpp-python only when the class is instantiated.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from promptlab.backends.base import Backend, Capabilities, Completion, FinishReason, Usage
from promptlab.backends.mock import MockBackend, RecordingBackend
from promptlab.backends.registry import load_backend

if TYPE_CHECKING:
    from promptlab.backends.hf import HFBackend
    from promptlab.backends.llamacpp import LlamaCppBackend
    from promptlab.backends.openai import OpenAIBackend

_LAZY = {
    "HFBackend": "promptlab.backends.hf",
    "LlamaCppBackend": "promptlab.backends.llamacpp",
    "OpenAIBackend": "promptlab.backends.openai",
}

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
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
