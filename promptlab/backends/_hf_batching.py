"""MicroBatcher: calls that arrive together on one transformers model are decoded as one batch.

The first caller to find the model idle becomes the driver: it runs the waiting calls in
batches until none are left, while every other caller waits for its own result, so a call
that arrives during a batch joins the next one (micro-batching). Calls batch together when
they have the same knobs and adapter and one plain row each (``n == 1``, no beams, no
constraint, a budget the context window does not cut); any other call runs alone, in
arrival order. A call cancelled before its batch starts is dropped; a batch that fails is
run again call by call, so that a bad call fails alone.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field

from promptlab.backends.base import Completion
from promptlab.config import GenerationConfig

MAX_BATCH = 16
"""Calls decoded in one ``model.generate`` at most."""


@dataclass
class Job:
    """One call: a tokenized prompt, its config and adapter; its result arrives on ``future``."""

    tokens: list[int]
    config: GenerationConfig
    adapter: str | None
    budget: int
    future: Future[list[Completion]] = field(default_factory=Future)

    @property
    def key(self) -> Hashable | None:
        """What calls must share to be batched together; None for a call that runs alone."""
        config = self.config
        alone = config.n != 1 or config.num_beams != 1 or config.constraint is not None
        if alone or self.budget != config.max_new_tokens:
            return None
        return config, self.adapter


class MicroBatcher:
    """Runs jobs one batch at a time: ``run_one`` for a lone job, ``run_many`` for compatible ones."""

    def __init__(self, run_one: Callable[[Job], list[Completion]],
                 run_many: Callable[[list[Job]], list[list[Completion]]], max_batch: int = MAX_BATCH) -> None:
        self._run_one = run_one
        self._run_many = run_many
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._driving = False

    def run(self, job: Job) -> list[Completion]:
        """Queue ``job`` and return its completions (driving the batches if nobody else is)."""
        with self._lock:
            self._queue.append(job)
            drive = not self._driving
            self._driving = True
        if drive:
            self._drive()
        return job.future.result()

    def _drive(self) -> None:
        batch: list[Job] = []
        try:
            while True:
                with self._lock:
                    batch = self._take()
                    if not batch:
                        self._driving = False
                        return
                self._execute(batch)
        except BaseException as exc:  # the driver is interrupted: no job may wait for it forever
            with self._lock:
                stranded = [*batch, *self._queue]
                self._queue.clear()
                self._driving = False
            for job in stranded:
                if not job.future.done():
                    job.future.set_exception(exc)
            raise

    def _take(self) -> list[Job]:
        """The next batch: the oldest job and every queued job that may share its batch."""
        if not self._queue:
            return []
        head = self._queue.popleft()
        batch = [head]
        key = head.key
        if key is not None:
            for job in list(self._queue):
                if len(batch) == self._max_batch:
                    break
                if job.key == key:
                    self._queue.remove(job)
                    batch.append(job)
        return batch

    def _execute(self, batch: list[Job]) -> None:
        live = [job for job in batch if job.future.set_running_or_notify_cancel()]  # drops cancelled jobs
        if len(live) > 1:
            try:
                results = self._run_many(live)
            except Exception:
                for job in live:
                    self._settle(job)
                return
            for job, completions in zip(live, results, strict=True):
                job.future.set_result(completions)
        elif live:
            self._settle(live[0])

    def _settle(self, job: Job) -> None:
        try:
            job.future.set_result(self._run_one(job))
        except Exception as exc:
            job.future.set_exception(exc)
