"""DirectRunner: the baseline strategy, question in, answer out, no reasoning steps.

With ``n > 1`` samples it votes over the normalised answers (self-consistency without
a rationale), with the same plumbing as the chain-of-thought runner.
"""

from __future__ import annotations

from typing import Any

from promptlab.backends.base import Backend
from promptlab.config import GenerationConfig
from promptlab.prompts.library import TemplateLibrary
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners._prompting import render, resolve_template, with_stops
from promptlab.runners._sampling import conclude, record_samples, sample, sampling_config
from promptlab.runners.answers import normalize_answer
from promptlab.runners.flow import Flow, Runner, prompt_text
from promptlab.tracing import TraceRecorder

__all__ = ["DirectRunner", "clean_answer"]


class DirectRunner(Runner):
    """Ask for the answer straight away with the ``direct`` template (its input: ``question``).

    The answer is the completion's first line without an ``Answer:`` label, normalised
    (``$1,200.`` becomes ``1200``). Keyword arguments override decoding knobs.
    """

    strategy = "direct"

    def __init__(self, backend: Backend, *, template: PromptTemplate | str = "direct",
                 config: GenerationConfig | None = None, n: int = 1, library: TemplateLibrary | None = None,
                 **overrides: Any) -> None:
        super().__init__(backend)
        self.template = resolve_template(template, library)
        base = with_stops(config or GenerationConfig(max_new_tokens=64), self.template, extra=("\n",))
        self.config = sampling_config(base, n, overrides)

    def prompt(self, question: str) -> str:
        """The exact prompt sent for ``question``."""
        return prompt_text(self.backend, render(self.template, None, question))

    def flow(self, question: str, recorder: TraceRecorder) -> Flow:
        prompt = render(self.template, None, question)
        completions, elapsed = yield from sample(self.backend, prompt, self.config)
        answers = [clean_answer(c.text) for c in completions]
        record_samples(recorder, prompt_text(self.backend, prompt), completions, elapsed,
                       [{"answer": a} for a in answers])
        return conclude(recorder, answers, ["no_answer"] * len(answers))


def clean_answer(text: str) -> str | None:
    """The first non-empty line of a completion without an ``Answer:`` label, normalised; None if empty."""
    for line in text.strip().splitlines():
        head, sep, rest = line.partition(":")
        if sep and head.strip().lower() in ("answer", "a", "the answer", "final answer"):
            line = rest
        if line.strip():
            return normalize_answer(line)
    return None
