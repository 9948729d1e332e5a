"""The effects a ReAct flow yields besides plain generation: tool calls, overflow-aware
generation, and handing the question to a fallback runner."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from promptlab.backends.base import Backend, Completion
from promptlab.errors import ContextLengthError
from promptlab.runners.flow import Effect, ModelCall
from promptlab.runners.result import RunResult
from promptlab.tools import Observation, Tool


class QuestionRunner(Protocol):
    """What a fallback must be: any runner answering a question (e.g. ChainOfThoughtRunner)."""

    def run(self, question: str) -> RunResult: ...


@dataclass(frozen=True, slots=True)
class CallTool(Effect):
    """Invoke a tool; the flow receives an :class:`Observation` (never an exception)."""

    tool: Tool[Any]
    argument: str | dict[str, Any]

    def perform(self, backend: Backend) -> Observation:
        return self.tool.invoke(self.argument)


@dataclass(frozen=True, slots=True)
class GenerateOrOverflow(Effect):
    """Ask the model (text or chat), but hand a :class:`ContextLengthError` back to the flow instead of raising it."""

    inner: ModelCall

    def perform(self, backend: Backend) -> list[Completion] | ContextLengthError:
        try:
            return self.inner.perform(backend)
        except ContextLengthError as exc:
            return exc

    async def aperform(self, backend: Backend) -> list[Completion] | ContextLengthError:
        try:
            return await self.inner.aperform(backend)
        except ContextLengthError as exc:
            return exc


@dataclass(frozen=True, slots=True)
class RunFallback(Effect):
    """Answer the question with another runner; the flow receives its :class:`RunResult`."""

    runner: QuestionRunner
    question: str

    def perform(self, backend: Backend) -> RunResult:
        return self.runner.run(self.question)

    async def aperform(self, backend: Backend) -> RunResult:
        arun = getattr(self.runner, "arun", None)
        if arun is not None:
            result: RunResult = await arun(self.question)
            return result
        return await asyncio.to_thread(self.runner.run, self.question)
