"""Backends: one contract (:class:`Backend`) in front of every engine."""

from promptlab.backends.base import Backend, Capabilities, Completion, FinishReason, Usage
from promptlab.backends.mock import MockBackend, RecordingBackend
from promptlab.backends.registry import load_backend

__all__ = [
    "Backend",
    "Capabilities",
    "Completion",
    "FinishReason",
    "MockBackend",
    "RecordingBackend",
    "Usage",
    "load_backend",
]
