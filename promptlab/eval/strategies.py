"""Strategy names (``direct``, ``cot``, ``pal``, ``hybrid``, ``react``) to runners, for the evaluation CLI."""

from __future__ import annotations

from typing import Any

from promptlab.backends.base import Backend
from promptlab.errors import ConfigError
from promptlab.eval.harness import RunnerLike
from promptlab.runners import ChainOfThoughtRunner, DirectRunner, HybridRunner, PALRunner, ReActRunner
from promptlab.tools import Calculator

__all__ = ["STRATEGIES", "build_runner"]

STRATEGIES = {
    "direct": "answer straight away (baseline)",
    "cot": "chain-of-thought with few-shot exemplars; n > 1 votes (self-consistency)",
    "pal": "the model writes a Python program, the sandbox runs it; n > 1 votes over results",
    "hybrid": "CoT's greedy rationale, PAL's greedy program where the rationale's answer is ungrounded; "
              "n > 2 votes over more samples of both",
    "react": "Thought/Action/Observation loop with tools (math: a calculator; qa: Wikipedia)",
}
MATH_REACT = {"template": "react_math", "max_steps": 5}
"""ReAct's defaults on math datasets (with a calculator as the tool)."""


def build_runner(strategy: str, backend: Backend, *, n: int = 1, task: str | None = None,
                 **options: Any) -> RunnerLike:
    """The runner for ``strategy`` on ``backend``; ``options`` go to its constructor
    (e.g. ``max_new_tokens=``, ``temperature=``, ``adaptive=``, ``max_steps=`` for ReAct).
    ``task="math"`` gives ReAct a calculator and the ``react_math`` prompt."""
    name = strategy.strip().lower()
    if name == "direct":
        return DirectRunner(backend, n=n, **options)
    if name == "cot":
        return ChainOfThoughtRunner(backend, n=n, **options)
    if name == "pal":
        return PALRunner(backend, n=n, **options)
    if name == "hybrid":  # one vote is the leader alone: the hybrid keeps its own n (2) unless more are asked for
        return HybridRunner(backend, **({**options, "n": n} if n > 1 else options))
    if name == "react":
        if n != 1:
            raise ConfigError("--n applies to direct, cot, pal and hybrid; react runs one trajectory per question")
        if task == "math":
            return ReActRunner(backend, tools=lambda: [Calculator()], **{**MATH_REACT, **options})
        return ReActRunner(backend, **options)
    raise ConfigError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
