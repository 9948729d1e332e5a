"""Self-consistency plumbing shared by the runners: sampling n completions, recording them, voting."""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from typing import Any

from promptlab.backends.base import Backend, Completion
from promptlab.config import GenerationConfig
from promptlab.runners.flow import Effect, Prompt, model_call
from promptlab.runners.result import RunResult
from promptlab.runners.voting import majority_vote
from promptlab.tracing import TraceRecorder

SELF_CONSISTENCY_TEMPERATURE = 0.7
"""Used when ``n > 1`` samples are asked for with greedy decoding (Wang et al. sample at 0.5-0.7)."""


def given(overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides a caller actually gave: runner keyword arguments use None for "not given"."""
    return {name: value for name, value in overrides.items() if value is not None}


def sampling_config(base: GenerationConfig, n: int, overrides: dict[str, Any]) -> GenerationConfig:
    """``base`` with the overrides and ``n``; n greedy samples would be identical, so ``n > 1`` samples
    at :data:`SELF_CONSISTENCY_TEMPERATURE` unless a temperature was chosen."""
    overrides = given(overrides)
    if n > 1 and overrides.get("temperature") is None and not base.sampling and base.num_beams < n:
        overrides = {**overrides, "temperature": SELF_CONSISTENCY_TEMPERATURE}
    return base.with_overrides(n=n, **overrides)


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
        for index in range(config.n):
            seed = None if config.seed is None else config.seed + index
            completions += yield model_call(prompt, config.with_overrides(n=1, seed=seed))
    return completions, time.perf_counter() - started


def record_samples(recorder: TraceRecorder, prompt: str, completions: Sequence[Completion], elapsed: float,
                   data: Sequence[dict[str, Any]], kind: str = "generate") -> None:
    """One step per completion. The prompt, its tokens and the call's latency go on the first
    step only, so that sums over the trace count a batched call once."""
    for index, (completion, extra) in enumerate(zip(completions, data, strict=True)):
        first = index == 0
        recorder.add(
            kind, prompt=prompt if first else None, completion=completion.text,
            prompt_tokens=completion.usage.prompt_tokens if first else 0,
            cached_prompt_tokens=completion.usage.cached_prompt_tokens if first else 0,
            completion_tokens=completion.usage.completion_tokens, latency_s=elapsed if first else 0.0,
            data={"sample": index, "finish_reason": completion.finish_reason, **extra},
        )


def conclude(recorder: TraceRecorder, answers: Sequence[str | None], failures: Sequence[str]) -> RunResult:
    """Vote over the samples' answers (None: the sample failed) and finish the trace.

    With one sample there is no vote step and no votes. Without any answer, the status
    is the most common failure (ties: the first), e.g. ``"no_answer"`` or ``"sandbox_error"``.
    """
    vote = majority_vote(answers)
    if len(answers) > 1:
        recorder.add("vote", data={"votes": vote.votes, "agreement": vote.agreement, "answers": list(answers)})
    status = "ok" if vote.answer is not None else majority_vote(list(failures)).answer or "no_answer"
    trace = recorder.finish(vote.answer, status)
    if len(answers) > 1:
        return RunResult(answer=vote.answer, status=status, trace=trace, votes=vote.votes, agreement=vote.agreement)
    return RunResult(answer=vote.answer, status=status, trace=trace)
