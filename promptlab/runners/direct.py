"""DirectRunner: the baseline strategy, question in, answer out, no reasoning steps.

With ``n > 1`` samples it votes over the normalised answers (self-consistency without
a rationale), with the same plumbing as the chain-of-thought runner.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from promptlab.backends.base import Backend
from promptlab.config import GenerationConfig
from promptlab.prompts.library import TemplateLibrary
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners._prompting import render, resolve_template, with_stops
from promptlab.runners._sampling import Adaptive, Ballot, SamplingPlan, draw_texts, sampling_config, self_consistency
from promptlab.runners.answers import normalize_answer
from promptlab.runners.flow import Flow, Runner, prompt_text
from promptlab.tracing import TraceRecorder

__all__ = ["DirectRunner", "clean_answer"]


class DirectRunner(Runner):
    """Ask for the answer straight away with the ``direct`` template (its input: ``question``).

    The answer is the completion's first line without an ``Answer:`` label, normalised
    (``$1,200.`` becomes ``1200``). ``n``, ``greedy_vote`` and ``adaptive`` work as in
    :class:`~promptlab.runners.cot.ChainOfThoughtRunner`. Keyword arguments override decoding knobs.
    """

    strategy = "direct"

    def __init__(self, backend: Backend, *, template: PromptTemplate | str = "direct",
                 config: GenerationConfig | None = None, n: int = 1, greedy_vote: bool = False,
                 adaptive: Adaptive | bool | dict[str, Any] | None = None, library: TemplateLibrary | None = None,
                 **overrides: Any) -> None:
        super().__init__(backend)
        self.template = resolve_template(template, library)
        base = with_stops(config or GenerationConfig(max_new_tokens=64), self.template, extra=("\n",))
        self.config = sampling_config(base, n, overrides)
        self.plan = SamplingPlan.of(n, greedy_vote, adaptive)

    def prompt(self, question: str) -> str:
        """The exact prompt sent for ``question``."""
        return prompt_text(self.backend, render(self.template, None, question))

    def flow(self, question: str, recorder: TraceRecorder) -> Flow:
        draw = partial(draw_texts, self.backend, render(self.template, None, question), self.config, recorder, _ballot)
        return (yield from self_consistency(draw, self.plan, recorder))


def _ballot(text: str) -> Ballot:
    answer = clean_answer(text)
    if answer is None:
        return Ballot(None, "no_answer", "the completion is empty", DirectRunner.strategy)
    return Ballot(answer, source=DirectRunner.strategy)


def clean_answer(text: str) -> str | None:
    """The first non-empty line of a completion without an ``Answer:`` label, normalised; None if empty."""
    for line in text.strip().splitlines():
        head, sep, rest = line.partition(":")
        if sep and head.strip().lower() in ("answer", "a", "the answer", "final answer"):
            line = rest
        if line.strip():
            return normalize_answer(line)
    return None
