"""Chain-of-thought (Wei et al., 2022) with optional self-consistency (Wang et al., 2022)."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from functools import partial
from typing import Any

from promptlab.backends.base import Backend, Completion
from promptlab.config import GenerationConfig
from promptlab.constraints import Regex
from promptlab.errors import ConfigError
from promptlab.prompts.library import TemplateLibrary
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners import arithmetic
from promptlab.runners._prompting import Examples, as_selector, render, resolve_template, with_stops
from promptlab.runners._sampling import (
    Adaptive,
    Ballot,
    SamplingPlan,
    ballot_data,
    draw_texts,
    record_samples,
    round_config,
    sample,
    sampling_config,
    self_consistency,
)
from promptlab.runners.answers import Extractor, default_extractor, normalize_answer, parse_number, regex_extractor
from promptlab.runners.flow import Effect, Flow, Generate, Prompt, Runner, prompt_text
from promptlab.runners.grounding import given_numbers, is_grounded
from promptlab.runners.slots import answer_constraint, use_constraints
from promptlab.tracing import TraceRecorder

__all__ = ["ANSWER_SLOT_TOKENS", "UNGROUNDED_WEIGHT", "ChainOfThoughtRunner"]

ANSWER_SLOT_TOKENS = 24
"""Most tokens of a constrained final answer (the words after the cue)."""
UNGROUNDED_WEIGHT = 0.25
"""What a vote counts when its rationale did not compute the answer from the question's numbers: the
largest weight that matched the best vote at every number of samples on the development split
(BENCHMARKS.md, *Grounded votes*)."""


class ChainOfThoughtRunner(Runner):
    """Few-shot exemplars with rationales, then the question; the answer is read from the rationale.

    With ``n > 1`` it samples ``n`` rationales in one batched call (the self-consistency
    defaults unless a temperature is set) and returns the majority answer with its votes and
    agreement ratio. ``greedy_vote=True`` makes the greedy rationale one of the ``n`` votes;
    ``adaptive`` (True or an :class:`Adaptive`) samples in rounds and stops once the vote is settled.

    ``examples``: a selector, a list of examples, or None for the template's default
    (the 8 GSM8K exemplars). ``extractor``: a function or a regex (group 1 is the answer);
    by default "The answer is X", else the last number. ``constrained``: reason free, then
    constrain the final answer to the template's ``answer_regex`` once the rationale writes
    its ``answer_cue`` ("The answer is"); None does so where the backend honours regular
    expressions and a text template declares a cue; False (the default: no measurement shows it
    helps yet) never. ``check_arithmetic`` (default True): recompute the equations each rationale
    states and correct an answer whose last equation computed it wrong (``4 + 5 + 9 = 21``
    votes 18; :mod:`promptlab.runners.arithmetic`); the trace lists the corrections.
    ``ungrounded_weight`` (default 0.25): what a vote counts when its rationale did not compute the
    answer from the question's numbers (:mod:`promptlab.runners.grounding`); an adaptive vote stops
    at once on a grounded greedy answer. 1 turns grounding off (all votes alike, no such stop). Other keyword arguments
    override decoding knobs (``temperature=``, ...).
    """

    strategy = "cot"

    def __init__(self, backend: Backend, *, template: PromptTemplate | str = "cot", examples: Examples = None,
                 config: GenerationConfig | None = None, n: int = 1, greedy_vote: bool = False,
                 adaptive: Adaptive | bool | dict[str, Any] | None = None,
                 extractor: Extractor | str = default_extractor, normalizer: Callable[[str], str] = normalize_answer,
                 constrained: bool | None = False, check_arithmetic: bool = True,
                 ungrounded_weight: float = UNGROUNDED_WEIGHT, library: TemplateLibrary | None = None,
                 **overrides: Any) -> None:
        super().__init__(backend)
        self.template = resolve_template(template, library)
        self.examples = as_selector(examples)
        self.extractor = regex_extractor(extractor) if isinstance(extractor, str) else extractor
        self.normalizer = normalizer
        if not isinstance(check_arithmetic, bool):
            raise ConfigError(f"check_arithmetic must be true or false, got {check_arithmetic!r}")
        self.check_arithmetic = check_arithmetic
        if isinstance(ungrounded_weight, bool) or not isinstance(ungrounded_weight, int | float) \
                or not 0.0 < ungrounded_weight <= 1.0:
            raise ConfigError(f"ungrounded_weight must be a number above 0 and at most 1, got {ungrounded_weight!r}")
        self.ungrounded_weight = float(ungrounded_weight)
        base = with_stops(config or GenerationConfig(max_new_tokens=256), self.template, extra=("\n\n",))
        self.config = sampling_config(base, n, overrides)
        self.plan = SamplingPlan.of(n, greedy_vote, adaptive)
        slot = answer_constraint(self.template) if self.template.kind == "text" else None
        if slot is None and constrained:
            raise ConfigError(f"template {self.template.name!r} is not a text template declaring answer_cue and "
                              "answer_regex, so its answer cannot be constrained; pass constrained=False")
        self.answer_slot = slot if slot is not None and use_constraints(
            constrained, backend, {"regex"}, "ChainOfThoughtRunner") else None
        if self.answer_slot is not None:
            self.config = self.config.with_overrides(stop=(*self.config.stop, self.answer_slot[0]))

    @property
    def constrained(self) -> bool:
        """Whether the final answer is generated under the template's answer constraint."""
        return self.answer_slot is not None

    def prompt(self, question: str) -> str:
        """The exact prompt sent for ``question``."""
        return prompt_text(self.backend, render(self.template, self.examples, question))

    def answer_of(self, text: str) -> str | None:
        """The normalised answer in one completion, or None."""
        span = self.extractor(text)
        answer = self.normalizer(span) if span is not None else ""
        return answer or None

    def ballot(self, text: str, question: str | None = None) -> Ballot:
        """One rationale's vote: its answer, corrected by the arithmetic check (when on) and, given a
        ``question`` with numbers and a numeric answer, judged grounded or not and weighed so."""
        answer = self.answer_of(text)
        if answer is None:
            return Ballot(None, "no_answer", "no answer found: the rationale states no number", self.strategy)
        given = given_numbers(question) if question is not None and self.ungrounded_weight < 1 else frozenset()
        judged = bool(given) and parse_number(answer) is not None
        if not (self.check_arithmetic or judged):
            return Ballot(answer, source=self.strategy)
        check = arithmetic.check_arithmetic(text)
        corrections: tuple[str, ...] = ()
        if self.check_arithmetic:
            answer = self.normalizer(check.correct(answer))
            corrections = tuple(str(c) for c in check.corrections)
        if not judged:
            return Ballot(answer, source=self.strategy, corrections=corrections)
        grounded = is_grounded(check, answer, given)
        return Ballot(answer, source=self.strategy, corrections=corrections, grounded=grounded,
                      weight=1.0 if grounded else self.ungrounded_weight)

    def draw(self, prompt: Prompt, recorder: TraceRecorder, first: int, count: int, greedy: bool,
             question: str | None = None) -> Generator[Effect, Any, list[Ballot]]:
        """Sample ``count`` rationales (numbered from ``first``; one greedy if ``greedy``) and read their
        votes (weighed by grounding in ``question``, when given)."""
        read = partial(self.ballot, question=question)
        if self.answer_slot is None or not isinstance(prompt, str):
            return (yield from draw_texts(self.backend, prompt, self.config, recorder, read, first, count, greedy))
        cue, pattern = self.answer_slot
        completions, elapsed = yield from sample(self.backend, prompt, round_config(self.config, first, count, greedy))
        slots = yield from self._answer(prompt, completions, cue, pattern)
        ballots = [read(c.text + cue + slots[i].text if i in slots else c.text)
                   for i, c in enumerate(completions)]
        record_samples(recorder, prompt, completions, elapsed, [ballot_data(b, greedy) for b in ballots], first=first)
        for index, slot in slots.items():
            recorder.add("answer", completion=slot.text, completion_tokens=slot.usage.completion_tokens,
                         cached_prompt_tokens=slot.usage.cached_prompt_tokens, latency_s=slot.latency_s,
                         data={"sample": first + index, "cue": cue, "finish_reason": slot.finish_reason})
        return ballots

    def _answer(self, prompt: str, rationales: Sequence[Completion], cue: str, pattern: Regex
                ) -> Generator[Effect, Any, dict[int, Completion]]:
        """The constrained answer of each rationale that stopped at the cue (one short greedy call each)."""
        config = GenerationConfig(max_new_tokens=ANSWER_SLOT_TOKENS, constraint=pattern)
        answers: dict[int, Completion] = {}
        for index, rationale in enumerate(rationales):
            if rationale.stop == cue:
                started = time.perf_counter()
                answer: Completion = (yield Generate(prompt + rationale.text + cue, config))[0]
                answers[index] = answer.model_copy(update={"latency_s": time.perf_counter() - started})
        return answers

    def flow(self, question: str, recorder: TraceRecorder) -> Flow:
        recorder.trace.metadata["constrained"] = self.constrained
        draw = partial(self.draw, render(self.template, self.examples, question), recorder, question=question)
        return (yield from self_consistency(draw, self.plan, recorder))
