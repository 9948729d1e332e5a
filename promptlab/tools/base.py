"""The Tool contract: validated arguments in, an :class:`Observation` out, never an exception.

A tool declares a pydantic model for its arguments. :meth:`Tool.invoke` accepts what a
model produced (a dict, a JSON object string, or a bare string for a one-argument tool),
validates it, runs the tool, and turns every failure (invalid arguments, an exception,
a timeout) into an error observation the agent can read and recover from.

Timeouts: with ``timeout_s`` set, the tool runs in a worker thread and the caller stops
waiting after ``timeout_s``. A Python thread cannot be killed, so a timed-out call keeps
running in the background until it returns; tools that do I/O must bound their own I/O
too (the Wikipedia tool passes a deadline to every request). A timed-out call's result is
dropped: a stateful tool does its I/O in :meth:`Tool.run` and changes its state in
:meth:`Tool.complete`, which runs in the caller's thread and only for a call that returned
in time, so a late answer can never change what the next call sees. With ``timeout_s=None`` the
tool runs inline, which saves starting a thread (~0.1 ms) per call for cheap, pure tools.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from promptlab.errors import ToolError

__all__ = ["Observation", "ObservationKind", "Tool", "ToolArgumentError"]

ArgsT = TypeVar("ArgsT", bound=BaseModel)
ObservationKind = Literal["ok", "invalid_arguments", "error", "timeout", "unknown_tool"]


@dataclass(frozen=True, slots=True)
class Observation:
    """What a tool call returned to the agent: text, plus how the call went."""

    text: str
    kind: ObservationKind = "ok"
    data: Any = None
    """Structured result when the tool has one (e.g. retrieved passages)."""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


class ToolArgumentError(ToolError, ValueError):
    """Arguments given to a tool do not match its argument model."""


class Tool(ABC, Generic[ArgsT]):
    """Base class of every tool: a name, a description, an argument model and :meth:`run`."""

    name: str
    description: str
    args_model: type[ArgsT]
    timeout_s: float | None = None
    """Stop waiting for a call after this many seconds (None: run inline, unbounded)."""

    @abstractmethod
    def run(self, args: ArgsT) -> str | Observation:
        """Do the work; may raise (``invoke`` turns that into an error observation)."""

    def complete(self, result: str | Observation) -> str | Observation:
        """Called in the caller's thread with what :meth:`run` returned in time; commit state here.

        Never called for a call that timed out. The default returns ``result`` unchanged.
        """
        return result

    def reset(self) -> None:
        """Forget per-episode state (a new question starts). Stateless tools do nothing."""

    # ----------------------------------------------------------------- public API
    def invoke(self, arguments: str | Mapping[str, Any] | None = None) -> Observation:
        """Validate ``arguments``, run the tool, and always return an observation."""
        started = time.perf_counter()
        try:
            args = self.parse_arguments(arguments)
        except ToolArgumentError as exc:
            return Observation(str(exc), "invalid_arguments", duration_s=time.perf_counter() - started)
        try:
            result = self.run(args) if self.timeout_s is None else self._run_bounded(args, self.timeout_s)
            result = self.complete(result)
        except _ToolTimeout:
            return Observation(f"{self.name} timed out after {self.timeout_s:g} s; try again or use another action.",
                               "timeout", duration_s=time.perf_counter() - started)
        except Exception as exc:  # a tool's failure is information for the agent, never a crash
            return Observation(f"{self.name} failed: {type(exc).__name__}: {exc}", "error",
                               duration_s=time.perf_counter() - started)
        elapsed = time.perf_counter() - started
        if isinstance(result, Observation):
            return Observation(result.text, result.kind, result.data, elapsed)
        return Observation(str(result), duration_s=elapsed)

    __call__ = invoke

    def parse_arguments(self, arguments: str | Mapping[str, Any] | None) -> ArgsT:
        """Coerce a model's arguments into ``args_model``; raise :class:`ToolArgumentError`."""
        if isinstance(arguments, str):
            arguments = self._from_text(arguments)
        try:
            return self.args_model.model_validate(arguments or {})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
            )
            raise ToolArgumentError(f"Invalid arguments for {self.name}: {problems}. Expected {self.signature()}.") \
                from None

    def signature(self) -> str:
        """A short human form of the arguments, e.g. ``search(query: string)``."""
        props = self.parameters_schema().get("properties", {})
        return f"{self.name}(" + ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in props.items()) + ")"

    def parameters_schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments (pydantic's, without titles)."""
        cached: dict[str, Any] | None = self.__dict__.get("_schema")
        if cached is None:
            cached = _strip_titles(self.args_model.model_json_schema())
            self.__dict__["_schema"] = cached
        return cached

    def json_schema(self) -> dict[str, Any]:
        """The tool in OpenAI's function-calling format."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters_schema()},
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.signature()}>"

    # ------------------------------------------------------------------ internals
    def _from_text(self, text: str) -> dict[str, Any]:
        if text.lstrip().startswith("{"):
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError:
                loaded = None
            if isinstance(loaded, dict):
                return loaded
        field = self._text_field()
        if field is not None:
            return {field: text} if field else {}
        fields = self.args_model.model_fields
        raise ToolArgumentError(
            f"Invalid arguments for {self.name}: it takes several arguments; give them as a JSON object "
            f"like {{{', '.join(repr(n) + ': ...' for n in fields)}}}. Expected {self.signature()}."
        )

    def _text_field(self) -> str | None:
        """The field a bare string argument fills ("" when there are no fields; None when ambiguous)."""
        cached: tuple[str | None] | None = self.__dict__.get("_text_field_cache")
        if cached is None:
            fields = self.args_model.model_fields
            required = [name for name, field in fields.items() if field.is_required()]
            if not fields:
                cached = ("",)
            elif len(fields) == 1 or len(required) == 1:
                cached = ((required or list(fields))[0],)
            else:
                cached = (None,)
            self.__dict__["_text_field_cache"] = cached
        return cached[0]

    def _run_bounded(self, args: ArgsT, timeout_s: float) -> str | Observation:
        # A fresh daemon thread per call (~0.1 ms): nothing lingers once the call returns,
        # and a call that never returns does not keep the interpreter from exiting.
        job = _Job(lambda: self.run(args))
        threading.Thread(target=job, name=f"promptlab-tool-{self.name}", daemon=True).start()
        if not job.done.wait(timeout_s):
            raise _ToolTimeout
        if job.error is not None:
            raise job.error
        result: str | Observation = job.result
        return result


class _ToolTimeout(Exception):
    pass


class _Job:
    """One bounded call: run in a worker thread, its outcome handed back to the caller."""

    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def __call__(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as exc:  # handed back to the caller's thread
            self.error = exc
        finally:
            self.done.set()


def _strip_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema
