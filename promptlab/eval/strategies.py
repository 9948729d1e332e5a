"""Strategy names (``direct``, ``cot``, ``pal``, ``react``) to runners, for the evaluation CLI."""

from __future__ import annotations

from typing import Any

from promptlab.backends.base import Backend
from promptlab.errors import ConfigError
from promptlab.eval.harness import RunnerLike
from promptlab.runners import ChainOfThoughtRunner, DirectRunner, PALRunner, ReActRunner

__all__ = ["STRATEGIES", "build_runner"]

STRATEGIES = {
    "direct": "answer straight away (baseline)",
    "cot": "chain-of-thought with few-shot exemplars; n > 1 votes (self-consistency)",
    "pal": "the model writes a Python program, the sandbox runs it; n > 1 votes over results",
    "react": "Thought/Action/Observation loop with tools (default: Wikipedia)",
}


def build_runner(strategy: str, backend: Backend, *, n: int = 1, **options: Any) -> RunnerLike:
    """The runner for ``strategy`` on ``backend``; ``options`` go to its constructor
    (e.g. ``max_new_tokens=``, ``temperature=``, ``max_steps=`` for ReAct)."""
    name = strategy.strip().lower()
    if name == "direct":
        return DirectRunner(backend, n=n, **options)
    if name == "cot":
        return ChainOfThoughtRunner(backend, n=n, **options)
    if name == "pal":
        return PALRunner(backend, n=n, **options)
    if name == "react":
        if n != 1:
            raise ConfigError("--n applies to direct, cot and pal; react runs one trajectory per question")
        return ReActRunner(backend, **options)
    raise ConfigError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
