"""Step and Trace records: what a runner did, streamed to JSONL as it happens.

Trace files are valid UTF-8 whatever a model produced: a lone surrogate (``"\ud800"``,
which Python strings may hold but UTF-8 cannot encode) is written as U+FFFD.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field

from promptlab import safe_json

__all__ = ["Step", "Trace", "TraceRecorder", "read_traces", "write_trace"]


class Step(BaseModel):
    """One step of a run: a model call, a tool call, a sandbox run, a vote."""

    model_config = ConfigDict(extra="forbid")

    index: int
    kind: str
    """What happened: "generate", "action", "execute", "vote", "error", ..."""
    prompt: str | None = None
    completion: str | None = None
    action: dict[str, Any] | None = None
    """The parsed action, e.g. ``{"tool": "search", "argument": "Paris"}``."""
    observation: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    latency_s: float = 0.0
    started_at: float = Field(default_factory=time.time)
    data: dict[str, Any] = Field(default_factory=dict)
    """Anything else worth keeping (votes, sandbox status, ...)."""


class Trace(BaseModel):
    """The ordered steps of one run, with its question and final answer."""

    model_config = ConfigDict(extra="forbid")

    strategy: str
    question: str
    answer: str | None = None
    status: str = "running"
    steps: list[Step] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def prompt_tokens(self) -> int:
        return sum(s.prompt_tokens for s in self.steps)

    @property
    def completion_tokens(self) -> int:
        return sum(s.completion_tokens for s in self.steps)

    @property
    def latency_s(self) -> float:
        return sum(s.latency_s for s in self.steps)


class TraceRecorder:
    """Builds a Trace step by step, and streams each step to a JSONL sink if given.

    The JSONL file holds one ``{"event": "start"|"step"|"end", ...}`` object a line,
    flushed after every line, so a crash loses at most the step in flight.
    """

    def __init__(self, strategy: str, question: str, sink: str | Path | IO[str] | None = None,
                 **metadata: Any) -> None:
        self.trace = Trace(strategy=strategy, question=question, metadata=metadata)
        self._owns_sink = isinstance(sink, (str, Path))
        self._sink: IO[str] | None = (
            Path(sink).open("a", encoding="utf-8") if isinstance(sink, (str, Path)) else sink  # noqa: SIM115
        )
        self._write({"event": "start", "strategy": strategy, "question": question, "metadata": metadata})

    def add(self, kind: str, **fields: Any) -> Step:
        """Record a step and stream it."""
        step = Step(index=len(self.trace.steps), kind=kind, **fields)
        self.trace.steps.append(step)
        if self._sink is not None:  # serialising costs as much as building the step
            self._write({"event": "step", **step.model_dump(mode="json")})
        return step

    def finish(self, answer: str | None, status: str) -> Trace:
        """Set the final answer and status, close the stream, return the trace."""
        self.trace.answer = answer
        self.trace.status = status
        self._write({"event": "end", "answer": answer, "status": status})
        if self._owns_sink and self._sink is not None:
            self._sink.close()
        self._sink = None
        return self.trace

    def _write(self, event: dict[str, Any]) -> None:
        if self._sink is not None:
            self._sink.write(json_line(event))
            self._sink.flush()


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_utf8(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, so it encodes as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def json_line(value: Any) -> str:
    """One JSONL line (newline included) that is always valid UTF-8."""
    return valid_utf8(json.dumps(value, ensure_ascii=False, default=str)) + "\n"


def write_trace(trace: Trace, sink: IO[str]) -> None:
    """Append a whole trace to a JSONL file in :class:`TraceRecorder`'s event format, in one write.

    For runs that record in memory and keep a shared file (concurrent evaluation): one
    write per trace means traces never interleave.
    """
    events: list[dict[str, Any]] = [
        {"event": "start", "strategy": trace.strategy, "question": trace.question, "metadata": trace.metadata}
    ]
    events += [{"event": "step", **step.model_dump(mode="json")} for step in trace.steps]
    events.append({"event": "end", "answer": trace.answer, "status": trace.status})
    sink.write("".join(json_line(e) for e in events))
    sink.flush()


def read_traces(path: str | Path) -> list[Trace]:
    """Rebuild the traces in a JSONL trace file (an unfinished one ends "incomplete")."""
    traces: list[Trace] = []
    current: Trace | None = None
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = safe_json.loads(line)
        except safe_json.JsonLimitError:
            break  # a torn last line from a crash
        if not isinstance(event, dict):
            raise ValueError(f"line {number} is a JSON {type(event).__name__}, not a trace event object")
        kind = event.pop("event", None)
        if kind == "start":
            current = Trace(strategy=event["strategy"], question=event["question"],
                            metadata=event.get("metadata", {}))
            traces.append(current)
        elif kind == "step" and current is not None:
            current.steps.append(Step.model_validate(event))
        elif kind == "end" and current is not None:
            current.answer, current.status = event.get("answer"), event.get("status", "done")
            current = None
    if current is not None:
        current.status = "incomplete"
    return traces
