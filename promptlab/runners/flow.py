"""One implementation, two faces: runners are written once as generators of effects.

A runner's logic is a generator (a *flow*) that yields :class:`Effect` objects (call the
model, run code in the sandbox, ...) and receives their results. :func:`drive` performs
the effects synchronously, :func:`adrive` with ``await``; the logic is never duplicated
for async (unlike libraries that copy every method line for line).
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from promptlab.backends.base import Backend, Completion, ToolChoice
from promptlab.chat import Message, ToolSchema, template_payload
from promptlab.config import GenerationConfig
from promptlab.errors import BackendError, ConfigError
from promptlab.runners.result import RunResult
from promptlab.tracing import TraceRecorder

__all__ = [
    "Chat", "Effect", "Flow", "Generate", "ModelCall", "Prompt", "Runner", "TraceSink", "adrive", "drive", "model_call",
    "prompt_text",
]

TraceSink = str | Path | IO[str] | None


class Effect(ABC):
    """Something a flow needs done by the outside world."""

    @abstractmethod
    def perform(self, backend: Backend) -> Any:
        """Do it, blocking."""

    async def aperform(self, backend: Backend) -> Any:
        """Do it without blocking the event loop (default: :meth:`perform` in a thread)."""
        return await asyncio.to_thread(self.perform, backend)


@dataclass(frozen=True)
class Generate(Effect):
    """Complete ``prompt`` with ``config``; the flow receives ``list[Completion]``."""

    prompt: str
    config: GenerationConfig

    def perform(self, backend: Backend) -> list[Completion]:
        return backend.generate(self.prompt, self.config)

    async def aperform(self, backend: Backend) -> list[Completion]:
        return await backend.agenerate(self.prompt, self.config)


@dataclass(frozen=True)
class Chat(Effect):
    """Reply to ``messages`` (with ``tools``, the completions carry tool calls); the flow receives ``list[Completion]``.

    Runners whose template is a chat template yield this instead of formatting the
    conversation themselves: a server applies its own template, a local engine the model's.
    """

    messages: tuple[Message, ...]
    config: GenerationConfig
    tools: tuple[ToolSchema, ...] | None = None
    tool_choice: ToolChoice = None

    def perform(self, backend: Backend) -> list[Completion]:
        return backend.chat(self.messages, self.config, tools=self.tools, tool_choice=self.tool_choice)

    async def aperform(self, backend: Backend) -> list[Completion]:
        return await backend.achat(self.messages, self.config, tools=self.tools, tool_choice=self.tool_choice)


Prompt = str | tuple[Message, ...]
"""What a runner sends: prompt text (a text template), or a conversation (a chat template)."""
ModelCall = Generate | Chat


def model_call(prompt: Prompt, config: GenerationConfig) -> ModelCall:
    """The effect that asks the model: :class:`Generate` for text, :class:`Chat` for a conversation."""
    return Generate(prompt, config) if isinstance(prompt, str) else Chat(prompt, config)


def prompt_text(backend: Backend, prompt: Prompt, tools: tuple[ToolSchema, ...] | None = None) -> str:
    """A prompt as text for traces: the text itself, or the conversation in the model's chat template
    (one JSON message per line where the backend has no local template, e.g. a server)."""
    if isinstance(prompt, str):
        return prompt
    try:
        return backend.format_chat(prompt, tools=tools)
    except BackendError:
        lines = [json.dumps(template_payload(m), ensure_ascii=False) for m in prompt]
        if tools:
            lines.insert(0, json.dumps({"tools": list(tools)}, ensure_ascii=False))
        return "\n".join(lines)


Flow = Generator[Effect, Any, RunResult]


def drive(flow: Flow, backend: Backend, recorder: TraceRecorder) -> RunResult:
    """Run a flow to its result, performing each effect as it comes."""
    try:
        effect = next(flow)
        while True:
            effect = flow.send(effect.perform(backend))
    except StopIteration as done:
        result: RunResult = done.value
        return result
    except BaseException as exc:  # Ctrl-C too: the trace file is closed with an "end" event
        _record_failure(recorder, exc)
        raise


async def adrive(flow: Flow, backend: Backend, recorder: TraceRecorder) -> RunResult:
    """Async :func:`drive`: the same flow, effects awaited."""
    try:
        effect = next(flow)
        while True:
            effect = flow.send(await effect.aperform(backend))
    except StopIteration as done:
        result: RunResult = done.value
        return result
    except BaseException as exc:  # cancellation too: the trace file is closed with an "end" event
        _record_failure(recorder, exc)
        raise


def _record_failure(recorder: TraceRecorder, exc: BaseException) -> None:
    """Close the trace of a run that raised (a backend failure, a bad config) so the JSONL is complete."""
    if recorder.trace.status == "running":
        recorder.add("error", observation=f"{type(exc).__name__}: {exc}")
        recorder.finish(None, "error")


class Runner(ABC):
    """A strategy over a backend: ``run`` / ``arun`` drive the one flow that :meth:`flow` defines."""

    strategy: str = "runner"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @abstractmethod
    def flow(self, question: str, recorder: TraceRecorder) -> Flow:
        """The strategy's logic: yields effects, records steps, returns the result."""

    def run(self, question: str, *, trace: TraceSink = None) -> RunResult:
        """Answer ``question``; ``trace`` is an optional JSONL sink (path or file) the steps stream to."""
        recorder = self._recorder(question, trace)
        return drive(self.flow(question, recorder), self.backend, recorder)

    async def arun(self, question: str, *, trace: TraceSink = None) -> RunResult:
        """Async :meth:`run`: the same flow with the backend's async calls."""
        recorder = self._recorder(question, trace)
        return await adrive(self.flow(question, recorder), self.backend, recorder)

    def _recorder(self, question: str, trace: TraceSink) -> TraceRecorder:
        if not question.strip():
            raise ConfigError("the question is empty; give the question text")
        return TraceRecorder(self.strategy, question, sink=trace, backend=self.backend.name)
