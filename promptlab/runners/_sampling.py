"""Self-consistency plumbing shared by the runners: sampling rounds, recording samples, voting.

A runner turns samples into :class:`Ballot` objects (an answer, or why there is none);
:func:`self_consistency` draws them as its :class:`SamplingPlan` says (all at once, the
greedy answer first, or in adaptive rounds that stop once the vote is settled) and
:func:`conclude` votes.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptlab.backends.base import Backend, Completion
from promptlab.config import GenerationConfig
from promptlab.errors import ConfigError
from promptlab.runners.flow import Effect, Prompt, model_call, prompt_text
from promptlab.runners.result import RunResult
from promptlab.runners.voting import Vote, majority_vote
from promptlab.tracing import TraceRecorder

SELF_CONSISTENCY_DEFAULTS: dict[str, Any] = {"temperature": 0.5}
"""Knobs used when ``n > 1`` samples are asked for and the caller chose no sampling temperature.

0.5, the low end of Wang et al.'s 0.5-0.7: on a development split with the embedded SmolLM2-135M
the vote of the greedy answer and 7 samples at 0.5 matched or beat every other setting tried
(0.3, 0.7 with and without min-p 0.1, 1.0 with min-p) for CoT and PAL, by 0-3 items of 40
(BENCHMARKS.md, *Sampling sweep*)."""


@dataclass(frozen=True)
class Ballot:
    """One sample's vote: its normalised answer, or the status and reason why it has none."""

    answer: str | None
    status: str = "ok"
    reason: str | None = None
    source: str = ""
    """The strategy that produced it (``"pal"``, ``"cot"``, ...), for mixed votes."""
    corrections: tuple[str, ...] = ()
    """Wrongly computed equations in its rationale, each with its recomputed result (checked arithmetic)."""
    grounded: bool | None = None
    """Whether its rationale computes the answer from the question's numbers (None: not judged)."""
    weight: float = 1.0
    """What its answer counts in the vote: above 0, at most 1."""

    def __post_init__(self) -> None:
        if not 0.0 < self.weight <= 1.0:  # also refuses NaN
            raise ValueError(f"a ballot's weight must be above 0 and at most 1, got {self.weight!r}")


@dataclass(frozen=True)
class Adaptive:
    """Adaptive self-consistency: draw ``round_size`` samples at a time, stop once the vote is settled.

    Settled means the leading answer cannot be overtaken by the samples left (``"decided"``),
    or, with ``confidence``, that it holds at least that share of the samples drawn (weighted
    votes: :attr:`Ballot.weight`) once ``min_votes`` have been (``"confident"``), or, with
    ``trust_grounded``, at once if one of its ballots is grounded (``"grounded"``: its rationale
    computed it from the question's numbers, which a chain-of-thought runner judges). With
    ``scattered_after``, sampling also stops once that many votes are in and no answer has been
    given twice (``"scattered"``): the samples are noise, and the vote goes to the first answer
    given (with a greedy vote, the greedy one when it has an answer; a grounded answer before
    ungrounded ones). The share counts each sample drawn once and each vote at its weight, so
    ungrounded answers alone never make a vote confident.
    """

    round_size: int = 2
    confidence: float | None = 0.6
    min_votes: int = 3
    trust_grounded: bool = True
    scattered_after: int | None = None

    def __post_init__(self) -> None:
        if self.round_size < 1:
            raise ConfigError(f"adaptive round_size must be at least 1, got {self.round_size}")
        if self.confidence is not None and not 0.5 <= self.confidence <= 1.0:
            raise ConfigError(f"adaptive confidence must be between 0.5 and 1, got {self.confidence}")
        if self.min_votes < 1:
            raise ConfigError(f"adaptive min_votes must be at least 1, got {self.min_votes}")
        if not isinstance(self.trust_grounded, bool):
            raise ConfigError(f"adaptive trust_grounded must be true or false, got {self.trust_grounded!r}")
        if self.scattered_after is not None and self.scattered_after < 2:
            raise ConfigError(f"adaptive scattered_after must be at least 2 votes, got {self.scattered_after}")

    def describe(self) -> str:
        confidence = "" if self.confidence is None else f", confidence {self.confidence:g} after {self.min_votes}"
        grounded = " (or a grounded answer)" if self.confidence is not None and self.trust_grounded else ""
        scattered = "" if self.scattered_after is None else f", scattered after {self.scattered_after}"
        return f"rounds of {self.round_size}{confidence}{grounded}{scattered}"

    def stop_reason(self, ballots: Sequence[Ballot], remaining: int) -> str | None:
        """``"decided"``, ``"confident"``, ``"grounded"``, ``"scattered"``, or None to keep sampling."""
        answers = [b.answer for b in ballots]
        vote = majority_vote(answers, [b.weight for b in ballots])
        if vote.answer is None:
            return None
        lead = vote.scores[vote.answer]
        order = {answer: index for index, answer in reversed(list(enumerate(answers))) if answer is not None}
        # Each ballot left adds at most 1. Another answer wins a tie if seen before the leader; a new one never is.
        if all(score + remaining < lead or (score + remaining == lead and order[other] > order[vote.answer])
               for other, score in vote.scores.items() if other != vote.answer) and remaining <= lead:
            return "decided"
        if self.confidence is not None and lead / len(answers) >= self.confidence:
            if len(answers) >= self.min_votes:
                return "confident"
            if self.trust_grounded and any(b.grounded and b.answer == vote.answer for b in ballots):
                return "grounded"
        if self.scattered_after is not None and len(answers) >= self.scattered_after and max(vote.votes.values()) == 1:
            return "scattered"
        return None


@dataclass(frozen=True)
class SamplingPlan:
    """How many votes to collect and how: ``n`` at most, the greedy answer as the first, adaptive rounds."""

    n: int = 1
    greedy_vote: bool = False
    adaptive: Adaptive | None = field(default=None)

    def stop_reason(self, ballots: Sequence[Ballot]) -> str | None:
        """Why an adaptive plan stops drawing after ``ballots`` (see :meth:`Adaptive.stop_reason`), else None."""
        if self.adaptive is None:
            return None
        return self.adaptive.stop_reason(ballots, self.n - len(ballots))

    def describe(self) -> str:
        """E.g. ``"n=8, greedy vote, adaptive: rounds of 2, confidence 0.6 after 3"``."""
        parts = [f"n={self.n}"] + ["greedy vote"] * self.greedy_vote
        return ", ".join(parts) + (f", adaptive: {self.adaptive.describe()}" if self.adaptive else "")

    @classmethod
    def of(cls, n: int, greedy_vote: bool = False, adaptive: Adaptive | bool | dict[str, Any] | None = None
           ) -> SamplingPlan:
        """Build a plan from runner arguments (``adaptive=True`` takes the default :class:`Adaptive`)."""
        if n < 1:
            raise ConfigError(f"n must be at least 1, got {n}")
        if isinstance(adaptive, dict):
            try:
                adaptive = Adaptive(**adaptive)
            except TypeError as exc:
                raise ConfigError(f"adaptive: {exc}") from None
        chosen = Adaptive() if adaptive is True else adaptive or None
        return cls(n=n, greedy_vote=greedy_vote and n > 1, adaptive=chosen if n > 1 else None)


Draw = Callable[[int, int, bool], Generator[Effect, Any, list[Ballot]]]
"""``draw(first, count, greedy)``: sample ``count`` ballots numbered from ``first`` (one greedy one if ``greedy``)."""


def given(overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides a caller actually gave: runner keyword arguments use None for "not given"."""
    return {name: value for name, value in overrides.items() if value is not None}


def sampling_config(base: GenerationConfig, n: int, overrides: dict[str, Any]) -> GenerationConfig:
    """``base`` with the overrides; ``n > 1`` samples would be identical if greedy, so then the
    :data:`SELF_CONSISTENCY_DEFAULTS` apply unless a temperature was chosen."""
    overrides = given(overrides)
    beams = overrides.get("num_beams", base.num_beams)
    if n > 1 and overrides.get("temperature") is None and not base.sampling and beams < n:
        defaults = {key: value for key, value in SELF_CONSISTENCY_DEFAULTS.items() if overrides.get(key) is None}
        overrides = {**overrides, **defaults}
    return base.with_overrides(n=n, **overrides)


def round_config(config: GenerationConfig, first: int, count: int, greedy: bool) -> GenerationConfig:
    """The config of one sampling round: ``count`` samples whose seeds continue from sample ``first``
    (so rounds draw the samples one batched call would), or one greedy completion."""
    if greedy:
        return config.with_overrides(n=1, temperature=0.0, do_sample=None)
    return config.with_overrides(n=count, seed=sample_seed(config.seed, first))


def sample_seed(seed: int | None, index: int) -> int | None:
    """The seed of sample ``index``: ``seed + index``; unseeded, None for the first sample and a fresh
    seed for later ones (a backend's own default seed would otherwise repeat the first sample)."""
    if seed is not None:
        return seed + index
    return None if index == 0 else random.SystemRandom().randrange(2**31)


def self_consistency(draw: Draw, plan: SamplingPlan, recorder: TraceRecorder) -> Generator[Effect, Any, RunResult]:
    """Collect ballots as ``plan`` says, then vote (:func:`conclude`)."""
    ballots: list[Ballot] = []
    stopped = None
    if plan.greedy_vote:
        ballots += yield from draw(0, 1, True)
        stopped = plan.stop_reason(ballots)
    while len(ballots) < plan.n and stopped is None:
        left = plan.n - len(ballots)
        ballots += yield from draw(len(ballots), min(plan.adaptive.round_size, left) if plan.adaptive else left,
                                   False)
        stopped = plan.stop_reason(ballots)
    return conclude(recorder, ballots, stopped=stopped, budget=plan.n)


def sample(backend: Backend, prompt: Prompt, config: GenerationConfig
           ) -> Generator[Effect, Any, tuple[list[Completion], float]]:
    """``config.n`` completions of ``prompt`` (text or a conversation): one batched call when the backend takes ``n``,
    else one call per sample (seeds offset so that seeded samples differ). Returns them
    with the wall time spent."""
    started = time.perf_counter()
    if config.n == 1 or "n" in backend.capabilities.knobs:
        completions: list[Completion] = yield model_call(prompt, config)
    else:
        completions = []
        for one in one_sample_configs(config):
            completions += yield model_call(prompt, one)
    return completions, time.perf_counter() - started


def one_sample_configs(config: GenerationConfig) -> list[GenerationConfig]:
    """``config.n`` configs of one sample each, with seeds that differ (:func:`sample_seed`)."""
    return [config.with_overrides(n=1, seed=sample_seed(config.seed, index)) for index in range(config.n)]


def draw_texts(backend: Backend, prompt: Prompt, config: GenerationConfig, recorder: TraceRecorder,
               read: Callable[[str], Ballot], first: int, count: int, greedy: bool
               ) -> Generator[Effect, Any, list[Ballot]]:
    """One round of a runner whose answer is read off the text: sample, read each ballot, record."""
    completions, elapsed = yield from sample(backend, prompt, round_config(config, first, count, greedy))
    ballots = [read(c.text) for c in completions]
    record_samples(recorder, prompt_text(backend, prompt), completions, elapsed,
                   [ballot_data(b, greedy) for b in ballots], first=first)
    return ballots


def ballot_data(ballot: Ballot, greedy: bool = False) -> dict[str, Any]:
    """What a sample's step records about its ballot: the answer, or the status and reason."""
    data: dict[str, Any] = {"answer": ballot.answer}
    if ballot.answer is None:
        data.update(status=ballot.status, reason=ballot.reason)
    if ballot.corrections:
        data["corrections"] = list(ballot.corrections)
    if ballot.grounded is not None:
        data["grounded"] = ballot.grounded
    if greedy:
        data["greedy"] = True
    return data


def record_samples(recorder: TraceRecorder, prompt: str, completions: Sequence[Completion], elapsed: float,
                   data: Sequence[dict[str, Any]], kind: str = "generate", first: int = 0) -> None:
    """One step per completion, numbered from ``first``. The prompt, its tokens and the call's
    latency go on the first step only, so that sums over the trace count a batched call once."""
    for index, (completion, extra) in enumerate(zip(completions, data, strict=True)):
        head = index == 0
        recorder.add(
            kind, prompt=prompt if head else None, completion=completion.text,
            prompt_tokens=completion.usage.prompt_tokens if head else 0,
            cached_prompt_tokens=completion.usage.cached_prompt_tokens if head else 0,
            completion_tokens=completion.usage.completion_tokens, latency_s=elapsed if head else 0.0,
            data={"sample": first + index, "finish_reason": completion.finish_reason, **extra},
        )


def conclude(recorder: TraceRecorder, ballots: Sequence[Ballot], *, stopped: str | None = None,
             budget: int | None = None) -> RunResult:
    """Vote over the ballots and finish the trace.

    With one ballot there is no vote step and no votes, unless an adaptive plan stopped there.
    Without any answer the status is the most common failure (ties: the first), e.g.
    ``"no_answer"`` or ``"sandbox_error"``, and ``detail`` says what every sample did; a tie for
    the most votes goes to the answer sampled first, and ``detail`` says so.
    """
    answers = [b.answer for b in ballots]
    weights = [b.weight for b in ballots]
    weighted = any(weight != 1.0 for weight in weights)
    vote = majority_vote(answers, weights)
    detail: str | None
    tied = [a for a, score in vote.scores.items() if vote.answer is not None and score == vote.scores[vote.answer]]
    if vote.answer is None:
        status = majority_vote([b.status for b in ballots]).answer or "no_answer"
        detail = no_answer_detail(ballots)
    else:
        status = "ok"
        detail = (f"tie between {', '.join(tied)} at {vote.scores[vote.answer]:g} {'weighted ' * weighted}vote(s) "
                  f"each: {vote.answer} was sampled first" if len(tied) > 1 else outweighed_detail(vote))
    voted = len(ballots) > 1 or stopped is not None
    if voted:
        data: dict[str, Any] = {"votes": vote.votes, "agreement": vote.agreement, "answers": answers,
                                "samples": len(ballots), "reasons": [b.reason for b in ballots]}
        if weighted:
            data.update(weights=weights, scores=vote.scores)
        if len({b.source for b in ballots}) > 1:
            data["sources"] = [b.source for b in ballots]
        if len(tied) > 1:
            data["tie"] = tied
        if budget is not None and budget > len(ballots):
            data["stopped"] = {"reason": stopped, "budget": budget}
        recorder.add("vote", observation=detail, data=data)
    trace = recorder.finish(vote.answer, status)
    if voted:
        return RunResult(answer=vote.answer, status=status, trace=trace, votes=vote.votes, agreement=vote.agreement,
                         samples=len(ballots), detail=detail)
    return RunResult(answer=vote.answer, status=status, trace=trace, samples=len(ballots), detail=detail)


def outweighed_detail(vote: Vote) -> str | None:
    """Why the winner is not the answer given most often (weighted votes), or None when it is."""
    most = max(vote.votes.values(), default=0)
    if vote.answer is None or vote.votes[vote.answer] == most:
        return None
    other = next(answer for answer, count in vote.votes.items() if count == most)
    return (f"{vote.answer} won with {vote.votes[vote.answer]} vote(s) weighing {vote.scores[vote.answer]:g} "
            f"against {other}'s {most} weighing {vote.scores[other]:g}")


def no_answer_detail(ballots: Sequence[Ballot]) -> str:
    """Why no ballot has an answer: the one reason, or the count per status."""
    if len(ballots) == 1:
        return ballots[0].reason or ballots[0].status
    counts = Counter(b.status for b in ballots)
    summary = ", ".join(f"{count} {status}" for status, count in counts.most_common())
    return f"none of the {len(ballots)} samples gave an answer ({summary}); each sample's reason is in the trace"
