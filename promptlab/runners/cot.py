"""Chain-of-thought (Wei et al., 2022) with optional self-consistency (Wang et al., 2022)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial
from typing import Any

from promptlab.backends.base import Backend
from promptlab.config import GenerationConfig
from promptlab.prompts.library import TemplateLibrary
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners._prompting import Examples, as_selector, render, resolve_template, with_stops
from promptlab.runners._sampling import Adaptive, Ballot, SamplingPlan, draw_texts, sampling_config, self_consistency
from promptlab.runners.answers import Extractor, default_extractor, normalize_answer, regex_extractor
from promptlab.runners.flow import Effect, Flow, Prompt, Runner, prompt_text
from promptlab.tracing import TraceRecorder

__all__ = ["ChainOfThoughtRunner"]


class ChainOfThoughtRunner(Runner):
    """Few-shot exemplars with rationales, then the question; the answer is read from the rationale.

    With ``n > 1`` it samples ``n`` rationales in one batched call (the self-consistency
    defaults unless a temperature is set) and returns the majority answer with its votes and
    agreement ratio. ``greedy_vote=True`` makes the greedy rationale one of the ``n`` votes;
    ``adaptive`` (True or an :class:`Adaptive`) samples in rounds and stops once the vote is settled.

    ``examples``: a selector, a list of examples, or None for the template's default
    (the 8 GSM8K exemplars). ``extractor``: a function or a regex (group 1 is the answer);
    by default "The answer is X", else the last number. Other keyword arguments override
    decoding knobs (``temperature=``, ``max_new_tokens=``, ...).
    """

    strategy = "cot"

    def __init__(self, backend: Backend, *, template: PromptTemplate | str = "cot", examples: Examples = None,
                 config: GenerationConfig | None = None, n: int = 1, greedy_vote: bool = False,
                 adaptive: Adaptive | bool | dict[str, Any] | None = None,
                 extractor: Extractor | str = default_extractor, normalizer: Callable[[str], str] = normalize_answer,
                 library: TemplateLibrary | None = None, **overrides: Any) -> None:
        super().__init__(backend)
        self.template = resolve_template(template, library)
        self.examples = as_selector(examples)
        self.extractor = regex_extractor(extractor) if isinstance(extractor, str) else extractor
        self.normalizer = normalizer
        base = with_stops(config or GenerationConfig(max_new_tokens=256), self.template, extra=("\n\n",))
        self.config = sampling_config(base, n, overrides)
        self.plan = SamplingPlan.of(n, greedy_vote, adaptive)

    def prompt(self, question: str) -> str:
        """The exact prompt sent for ``question``."""
        return prompt_text(self.backend, render(self.template, self.examples, question))

    def answer_of(self, text: str) -> str | None:
        """The normalised answer in one completion, or None."""
        span = self.extractor(text)
        answer = self.normalizer(span) if span is not None else ""
        return answer or None

    def ballot(self, text: str) -> Ballot:
        """One rationale's vote."""
        answer = self.answer_of(text)
        if answer is None:
            return Ballot(None, "no_answer", "no answer found: the rationale states no number", self.strategy)
        return Ballot(answer, source=self.strategy)

    def draw(self, prompt: Prompt, recorder: TraceRecorder, first: int, count: int, greedy: bool
             ) -> Generator[Effect, Any, list[Ballot]]:
        """Sample ``count`` rationales (numbered from ``first``; one greedy if ``greedy``) and read their votes."""
        return draw_texts(self.backend, prompt, self.config, recorder, self.ballot, first, count, greedy)

    def flow(self, question: str, recorder: TraceRecorder) -> Flow:
        draw = partial(self.draw, render(self.template, self.examples, question), recorder)
        return (yield from self_consistency(draw, self.plan, recorder))
