"""Concurrent, resumable evaluation of a runner on a dataset.

Items run on asyncio with at most ``concurrency`` in flight (a runner's ``arun`` when
it has one, else ``run`` in a worker thread). Each finished item is checkpointed at
once, so an interrupted evaluation loses only the items in flight. A backend that goes
away (a retryable error, a connection error) stops the run cleanly: nothing is recorded
for the items it broke, and a rerun picks them up. Any other error (in the runner, in
scoring, in building the trace) is the item's own failure and is recorded with status
``"error"`` and its message; the run goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from promptlab.errors import ConfigError
from promptlab.eval.checkpoint import Checkpoint, ItemResult
from promptlab.eval.datasets import Dataset, DatasetItem
from promptlab.eval.metrics import score
from promptlab.runners.result import RunResult
from promptlab.tracing import Step, Trace

__all__ = ["EvalOutcome", "RunnerLike", "arun_evaluation", "is_infrastructure_error", "run_evaluation"]


@runtime_checkable
class RunnerLike(Protocol):
    """Anything that answers a question with a :class:`RunResult` (an optional ``arun`` is used when present)."""

    def run(self, question: str) -> RunResult: ...


@dataclass(frozen=True)
class EvalOutcome:
    """How an evaluation run went."""

    total: int
    """Items selected (after ``limit``)."""
    skipped: int
    """Items already in the checkpoint, not run again."""
    completed: int
    """Items run and checkpointed now."""
    aborted: str | None = None
    """Why the run stopped early (the backend went away), or None."""

    @property
    def remaining(self) -> int:
        return self.total - self.skipped - self.completed


def is_infrastructure_error(exc: BaseException) -> bool:
    """An error of the backend's machinery rather than of the item: retrying later may work."""
    return bool(getattr(exc, "retryable", False)) or isinstance(exc, (OSError, TimeoutError))


async def arun_evaluation(
    dataset: Dataset,
    runner: RunnerLike,
    checkpoint: Checkpoint,
    *,
    concurrency: int = 1,
    limit: int | None = None,
    retry_errors: bool = False,
    on_result: Callable[[ItemResult], None] | None = None,
) -> EvalOutcome:
    """Run ``runner`` on the items of ``dataset`` not yet in ``checkpoint``, at most ``concurrency`` at once."""
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    selected = dataset.items[:limit] if limit is not None else dataset.items
    done = checkpoint.finished_ids(retry_errors=retry_errors)
    pending = [e for e in selected if e.id not in done]
    queue: asyncio.Queue[DatasetItem] = asyncio.Queue()
    for example in pending:
        queue.put_nowait(example)
    completed = 0
    aborted: list[str] = []

    async def worker() -> None:
        nonlocal completed
        while not aborted and not queue.empty():
            example = queue.get_nowait()
            try:
                result, trace = await _run_item(dataset.task, runner, example)
            except Exception as exc:
                if not is_infrastructure_error(exc):
                    raise
                aborted.append(f"{type(exc).__name__}: {exc}")
                return
            try:
                checkpoint.append(result, trace)
            except (ValueError, TypeError) as exc:  # an unserialisable answer or trace: keep the item's error
                message = _clip(f"the item's result could not be saved: {type(exc).__name__}: {exc}")
                result = _failed(example, message, result.latency_s)
                checkpoint.append(result, _error_trace(runner, example, message))
            completed += 1
            if on_result is not None:
                on_result(result)

    workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(pending)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    return EvalOutcome(total=len(selected), skipped=len(selected) - len(pending), completed=completed,
                       aborted=aborted[0] if aborted else None)


def run_evaluation(
    dataset: Dataset,
    runner: RunnerLike,
    checkpoint: Checkpoint,
    *,
    concurrency: int = 1,
    limit: int | None = None,
    retry_errors: bool = False,
    on_result: Callable[[ItemResult], None] | None = None,
) -> EvalOutcome:
    """Synchronous face of :func:`arun_evaluation`."""
    return asyncio.run(arun_evaluation(dataset, runner, checkpoint, concurrency=concurrency, limit=limit,
                                retry_errors=retry_errors, on_result=on_result))


async def _call(runner: RunnerLike, question: str) -> RunResult:
    arun = getattr(runner, "arun", None)
    if arun is not None:
        result: RunResult = await arun(question)
        return result
    return await asyncio.to_thread(runner.run, question)


async def _run_item(task: str, runner: RunnerLike, example: DatasetItem) -> tuple[ItemResult, Trace]:
    started = time.perf_counter()
    try:
        run = await _call(runner, example.question)
        trace = run.trace.model_copy(update={"metadata": {**run.trace.metadata, "item_id": example.id}})
        result = _item(example, run.answer, run.status, time.perf_counter() - started, trace, task,
                       agreement=run.agreement, samples=run.samples, detail=run.detail)
    except Exception as exc:
        if is_infrastructure_error(exc):
            raise
        message = _clip(f"{type(exc).__name__}: {exc}")
        return _failed(example, message, time.perf_counter() - started), _error_trace(runner, example, message)
    return result, trace


def _error_trace(runner: RunnerLike, example: DatasetItem, message: str) -> Trace:
    return Trace(strategy=type(runner).__name__, question=example.question, status="error",
                 steps=[Step(index=0, kind="error", data={"error": message})], metadata={"item_id": example.id})


def _clip(message: str, limit: int = 2_000) -> str:
    return message if len(message) <= limit else message[:limit] + "..."


def _failed(example: DatasetItem, message: str, latency_s: float) -> ItemResult:
    """The record of an item that raised: status ``"error"`` with its message, scored wrong."""
    return ItemResult(id=example.id, question=example.question, reference=example.answer, prediction=None,
                      status="error", correct=False, latency_s=latency_s, error=message)


def _item(example: DatasetItem, prediction: str | None, status: str, latency_s: float, trace: Trace, task: str,
          *, agreement: float | None = None, samples: int = 1, detail: str | None = None,
          error: str | None = None) -> ItemResult:
    graded = score(task, prediction, example.answer)
    return ItemResult(
        id=example.id, question=example.question, reference=example.answer, prediction=prediction,
        status=status, correct=graded.correct, f1=graded.f1, latency_s=latency_s,
        prompt_tokens=trace.prompt_tokens, completion_tokens=trace.completion_tokens, steps=len(trace.steps),
        agreement=agreement, samples=samples, detail=detail, error=error,
    )
