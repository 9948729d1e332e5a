"""HybridRunner: one self-consistency vote over executed PAL programs and chain-of-thought answers.

PAL and CoT fail differently (a program that does not run, a rationale whose arithmetic
slips), so their answers agree mostly when both are right; mixing them needs fewer samples
than either alone (arXiv 2604.17433).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from functools import partial
from typing import Any, Literal

from promptlab.backends.base import Backend
from promptlab.errors import ConfigError
from promptlab.runners._prompting import render
from promptlab.runners._sampling import Adaptive, Ballot, SamplingPlan, self_consistency
from promptlab.runners.cot import UNGROUNDED_WEIGHT, ChainOfThoughtRunner
from promptlab.runners.flow import Effect, Flow, Prompt, Runner
from promptlab.runners.pal import PALRunner
from promptlab.tracing import TraceRecorder

__all__ = ["HybridRunner"]


class HybridRunner(Runner):
    """Sample PAL programs and CoT rationales for the question and vote over all their answers.

    ``n`` votes in all; ``pal_share`` of them come from PAL. ``lead`` names the runner whose
    answer is vote 0 and is asked first (ties go to the first answer seen); the two alternate
    at the default ``pal_share`` 0.5. ``greedy_vote`` starts with the leader's greedy answer and
    the other's; ``adaptive`` stops once the vote is settled, as in
    :class:`~promptlab.runners.cot.ChainOfThoughtRunner`, within the greedy round too. The
    defaults (``n=2``, ``lead="cot"``, both on) ask for the greedy rationale and run the greedy
    program only when the rationale's answer is ungrounded (it weighs ``ungrounded_weight``, so
    an executed program outweighs it; a grounded one could only be tied) or missing: on the
    embedded model better than either runner alone on MAWPS single-op and SVAMP (BENCHMARKS.md).
    ``lead="pal"`` is the other order: CoT only where the program gives no answer.
    ``check_arithmetic`` and ``ungrounded_weight`` go to the CoT runner (its answers are corrected where
    the rationale computes wrong, and count 0.25 where it did not compute them from the question's
    numbers; at 1 a CoT lead is questioned only where the rationale gives no answer). ``pal`` and
    ``cot`` are keyword arguments for the two runners (``max_retries=``, ``examples=``, ...); other
    keyword arguments override decoding knobs of both.
    """

    strategy = "hybrid"
    greedy_votes = 2
    """Votes the greedy round casts with ``greedy_vote``: the greedy program and the greedy rationale."""
    leads = ("cot", "pal")

    def __init__(self, backend: Backend, *, n: int = 2, pal_share: float = 0.5, lead: Literal["cot", "pal"] = "cot",
                 greedy_vote: bool = True,
                 adaptive: Adaptive | bool | dict[str, Any] | None = True, pal: dict[str, Any] | None = None,
                 cot: dict[str, Any] | None = None, check_arithmetic: bool = True,
                 ungrounded_weight: float = UNGROUNDED_WEIGHT, **overrides: Any) -> None:
        super().__init__(backend)
        if not 0.0 < pal_share <= 1.0:
            raise ConfigError(f"pal_share must be in (0, 1], got {pal_share}")
        if lead not in self.leads:
            raise ConfigError(f"lead must be 'cot' or 'pal' (the runner whose answer is vote 0), got {lead!r}")
        self.pal = PALRunner(backend, n=n, **{**overrides, **(pal or {})})
        self.cot = ChainOfThoughtRunner(backend, n=n,
                                        **{"check_arithmetic": check_arithmetic, "ungrounded_weight": ungrounded_weight,
                                           **overrides, **(cot or {})})
        self.pal_share, self.lead = pal_share, lead
        self.plan = SamplingPlan.of(n, greedy_vote, adaptive)

    def uses_pal(self, index: int) -> bool:
        """Whether vote ``index`` is a PAL program (else a rationale): ``pal_share`` of every run of
        votes, the leader's first."""
        share = self.pal_share
        if self.lead == "pal":
            return math.ceil((index + 1) * share) > math.ceil(index * share)
        return math.floor((index + 1) * share) > math.floor(index * share)

    def flow(self, question: str, recorder: TraceRecorder) -> Flow:
        prompts = (render(self.pal.template, self.pal.examples, question),
                   render(self.cot.template, self.cot.examples, question))
        rounds = 0

        def draw(first: int, count: int, greedy: bool) -> Generator[Effect, Any, list[Ballot]]:
            nonlocal rounds
            rounds += 1
            return self._draw(prompts, question, recorder, first, count, greedy, leader_first=rounds % 2 == 1)

        return (yield from self_consistency(draw, self.plan, recorder))

    def _draw(self, prompts: tuple[Prompt, Prompt], question: str, recorder: TraceRecorder, first: int, count: int,
              greedy: bool, *, leader_first: bool) -> Generator[Effect, Any, list[Ballot]]:
        """Votes ``first`` to ``first + count - 1``: one PAL call and one CoT call. Rounds alternate which
        goes first, so each round starts with the prompt the last one ended with and a local engine's
        prompt cache switches once per round, not twice. Samples are numbered per runner, so each
        runner's seeds continue its own sequence."""
        indices = range(first, first + count)
        greedy_slots = (0, 1) if self.lead == "pal" else (1, 0)  # (PAL's, CoT's): the leader casts vote 0
        pal_slots = [greedy_slots[0]] if greedy else [i for i in indices if self.uses_pal(i)]
        cot_slots = [greedy_slots[1]] if greedy else [i for i in indices if not self.uses_pal(i)]
        pal_before = 0 if greedy else self._pal_votes_before(first)
        draws = [(partial(self.pal.draw, prompts[0]), pal_slots, pal_before),
                 (partial(self.cot.draw, prompts[1], question=question), cot_slots, first - pal_before)]
        if (self.lead == "cot") == leader_first:
            draws.reverse()
        by_index: dict[int, Ballot] = {}
        for draw, slots, numbered_from in draws:
            if greedy and by_index and self.plan.stop_reason(list(by_index.values())) is not None:
                break  # the leader's greedy answer settles the vote: the other runner is not asked
            if slots:
                ballots = yield from draw(recorder, 0 if greedy else numbered_from, len(slots), greedy)
                by_index.update(zip(slots, ballots, strict=True))
        return [by_index[i] for i in sorted(by_index)]

    def _pal_votes_before(self, first: int) -> int:
        """PAL's votes among votes ``0 .. first - 1``: the greedy round casts one of each runner."""
        if self.plan.greedy_vote:
            return 1 + sum(self.uses_pal(i) for i in range(self.greedy_votes, first))
        return sum(self.uses_pal(i) for i in range(first))
