"""The backend contract: one interface in front of every engine.

A concrete backend implements ``_generate`` (one prompt, ``config.n`` completions)
and ``count_tokens``; everything else (batching, chat, async, validation of knobs
against declared capabilities, per-call overrides) is shared here.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from promptlab.backends._gate import CallGate, GateHold
from promptlab.backends.tool_calls import SYNTAXES, ToolFormat, ToolSyntax, syntax_of_template, template_family
from promptlab.chat import (
    CHATML_TEMPLATE,
    Message,
    MessagesLike,
    ToolCall,
    ToolSchema,
    as_messages,
    render_chat_template,
)
from promptlab.config import GenerationConfig
from promptlab.constraints import Grammar, JsonSchema
from promptlab.errors import BackendClosedError, BackendError, ConstraintViolationError, UnsupportedKnobError

__all__ = [
    "ALL_KNOBS",
    "Backend",
    "Capabilities",
    "Completion",
    "FinishReason",
    "GatedStream",
    "Stopwatch",
    "Structured",
    "ToolChoice",
    "Usage",
    "WrappingBackend",
    "parse_structured",
]

FinishReason = Literal["stop", "length", "eos", "tool_calls"]
ToolChoice = Literal["auto", "none", "required"] | str | None
"""``"auto"`` (default), ``"none"``, ``"required"``, or the name of the one tool to call."""
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")

ALL_KNOBS = frozenset(GenerationConfig.model_fields) - {"constraint"}
"""The decoding knobs; constraints are declared separately (``Capabilities.constraints``)."""


class Usage(BaseModel):
    """Token accounting for one completion."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    """Prompt tokens reused from a cache instead of being evaluated again."""


class Completion(BaseModel):
    """One generated continuation and how it ended."""

    model_config = ConfigDict(frozen=True)

    text: str
    finish_reason: FinishReason
    stop: str | None = None
    """The stop string that fired, when ``finish_reason == "stop"``."""
    usage: Usage = Usage()
    latency_s: float = 0.0
    tool_calls: tuple[ToolCall, ...] = ()
    """Tool calls the model made (``chat(..., tools=...)``), each parsed and checked against its tool's schema."""


_ACCEPTED_CONFIGS = 64
"""How many accepted configs a backend remembers (runners reuse a few configs for every call)."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend can honour. A knob outside ``knobs`` is rejected, never ignored."""

    knobs: frozenset[str] = ALL_KNOBS
    streaming: bool = False
    prefix_cache: bool = False
    constraints: frozenset[str] = frozenset()
    """Constraint kinds honoured (``regex``, ``choice``, ``json_schema``, ``grammar``); others are refused."""
    concurrent: bool = False
    """Calls may overlap (a server, or an engine that batches them itself); otherwise the base serialises them."""
    notes: dict[str, str] = field(default_factory=dict)
    """Per-knob hints shown when a knob is rejected (what to do instead)."""


class Structured(BaseModel, Generic[M]):
    """A validated structured answer and the completion it was parsed from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    value: M
    completion: Completion


class Backend(ABC):
    """Base class of every engine.

    Lifecycle: every backend is a context manager; after :meth:`close` any call raises
    :class:`BackendClosedError`. Concurrency: a backend whose capabilities say
    ``concurrent=False`` (local engines) runs one call at a time, whatever mix of threads
    and asyncio tasks calls it; servers (and engines that batch concurrent calls
    themselves) declare ``concurrent=True`` and run calls side by side.
    """

    name: str = "backend"
    capabilities: Capabilities = Capabilities()
    _gate: CallGate
    _closed: bool
    _accepted: tuple[Capabilities | None, set[GenerationConfig]]
    tool_format: ToolFormat = "auto"
    """How tools reach an in-process model: ``"auto"`` (the chat template's own syntax), ``"hermes"``,
    ``"llama3"``, or ``"json"`` (JSON tool calls described in the system message, for any template)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # Set up here, not in __init__, so that engines need not remember super().__init__().
        self = super().__new__(cls)
        self._gate = CallGate()
        self._closed = False
        self._accepted = (None, set())
        return self

    # ----------------------------------------------------------------- engine hooks
    @abstractmethod
    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        """Return ``config.n`` completions of ``prompt`` (config already validated)."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` encodes to with this model's tokenizer."""

    def _chat(
        self, messages: list[Message], config: GenerationConfig, tools: list[ToolSchema] | None, tool_choice: ToolChoice
    ) -> list[Completion]:
        """Reply to a conversation. Default: the model's chat template, then :meth:`_generate`.

        A backend with a native chat form (a server's ``/chat/completions``) overrides this.
        """
        if not tools or tool_choice == "none":
            return self._generate(self.format_chat(messages), config)
        syntax = self.tool_syntax()
        prompt = self.format_chat(messages, tools=tools)
        completions = self._generate(prompt, self._tool_config(syntax, config, tools, tool_choice))
        return [with_tool_calls(c, *syntax.parse(c.text, tools)) for c in completions]

    def _stream(self, prompt: str, config: GenerationConfig) -> Iterator[str]:
        raise UnsupportedKnobError(self.name, "streaming")

    def tool_syntax(self) -> ToolSyntax:
        """How this model is given tools and writes calls: ``tool_format``, or (``"auto"``) its chat template's.

        Raises :class:`UnsupportedKnobError` naming the template when it has no tool support.
        """
        if self.tool_format != "auto":
            return SYNTAXES[self.tool_format]
        template = self.chat_template
        syntax = syntax_of_template(template)
        if syntax is None:
            raise UnsupportedKnobError(
                self.name, "tools",
                f"the model's chat template ({template_family(template)}) has no tool-call syntax; pass "
                "tool_format='json' to the backend for JSON tool calls described in the system message, or "
                "chat_template=... with a template that renders tools (Hermes/Qwen2.5 or Llama 3.1 style)")
        return syntax

    @property
    def tool_calling(self) -> bool:
        """Whether :meth:`chat` can take ``tools=`` here (the template or ``tool_format`` has a syntax for them)."""
        try:
            self.tool_syntax()
        except BackendError:
            return False
        return True

    def _tool_config(self, syntax: ToolSyntax, config: GenerationConfig, tools: list[ToolSchema],
                     tool_choice: ToolChoice) -> GenerationConfig:
        """Constrain a call that must call a tool to the tools' schemas, where the engine has a grammar engine."""
        if tool_choice in (None, "auto") or config.constraint is not None:
            return config
        if "grammar" not in self.capabilities.constraints:
            return config
        return config.with_overrides(constraint=Grammar(lark=syntax.grammar(tools, tool_choice)))

    def _stream_chat(self, messages: list[Message], config: GenerationConfig) -> Iterator[str]:
        """Stream a reply to a conversation. Default: the chat template, then :meth:`_stream`."""
        return self._stream(self.format_chat(messages), config)

    def _close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release the engine's resources (model memory, connections); called once."""

    @property
    def chat_template(self) -> str:
        """The model's own chat template (Jinja, as in tokenizer_config.json)."""
        return CHATML_TEMPLATE

    @property
    def special_tokens(self) -> dict[str, str]:
        """``bos_token`` / ``eos_token`` strings handed to the chat template."""
        return {}

    # ------------------------------------------------------------------- lifecycle
    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Release the engine's resources; later calls raise :class:`BackendClosedError`. Idempotent."""
        if self._closed:
            return
        with self._gate.hold(self.capabilities.concurrent):  # let a call in flight finish first
            self._closed = True
            self._close()

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------- public API
    def generate(self, prompt: str, config: GenerationConfig | None = None, **overrides: Any) -> list[Completion]:
        """Complete one prompt; returns ``n`` completions."""
        resolved = self.resolve_config(config, overrides)
        return self._call(self._generate, prompt, resolved)

    def generate_batch(
        self, prompts: Sequence[str], config: GenerationConfig | None = None, **overrides: Any
    ) -> list[list[Completion]]:
        """Complete several prompts; returns one list of ``n`` completions per prompt."""
        resolved = self.resolve_config(config, overrides)
        return self._call(self._generate_batch, list(prompts), resolved)

    def complete(self, prompt: str, config: GenerationConfig | None = None, **overrides: Any) -> Completion:
        """The first completion of one prompt: the common single-answer case."""
        return self.generate(prompt, config, **overrides)[0]

    def chat(
        self, messages: MessagesLike, config: GenerationConfig | None = None, *,
        tools: Sequence[ToolSchema] | None = None, tool_choice: ToolChoice = None, **overrides: Any,
    ) -> list[Completion]:
        """Reply to a conversation; with ``tools``, completions carry the model's ``tool_calls``."""
        resolved = self.resolve_config(config, overrides)
        return self._call(self._chat, as_messages(messages), resolved, _tool_list(tools), tool_choice)

    def format_chat(
        self, messages: MessagesLike, *, add_generation_prompt: bool = True, tools: Sequence[ToolSchema] | None = None
    ) -> str:
        """The exact prompt text the model's chat template makes of these messages (and tools, in the
        :meth:`tool_syntax`: rendered by the template itself, or described in the system message)."""
        extra: dict[str, Any] = {}
        if tools:
            syntax = self.tool_syntax()
            messages = syntax.messages(as_messages(messages), list(tools))
            extra = {"tools": list(tools)} if syntax.native else {}
        return render_chat_template(
            self.chat_template, messages, add_generation_prompt=add_generation_prompt, **self.special_tokens, **extra
        )

    def stream(self, prompt: str, config: GenerationConfig | None = None, **overrides: Any) -> Iterator[str]:
        """Yield text chunks as they are decoded; text that may become a stop is held back."""
        resolved = self._stream_config(config, overrides)
        return self._call_stream(self._stream, prompt, resolved)

    def stream_chat(
        self, messages: MessagesLike, config: GenerationConfig | None = None, **overrides: Any
    ) -> Iterator[str]:
        """Stream the reply to a conversation, chunk by chunk."""
        resolved = self._stream_config(config, overrides)
        return self._call_stream(self._stream_chat, as_messages(messages), resolved)

    def generate_structured(
        self, prompt: str, schema: type[M], config: GenerationConfig | None = None, **overrides: Any
    ) -> Structured[M]:
        """Generate one JSON value constrained to ``schema`` (a pydantic model) and validate it."""
        resolved = self._structured_config(schema, config, overrides)
        return parse_structured(schema, self._call(self._generate, prompt, resolved)[0], resolved)

    def chat_structured(
        self, messages: MessagesLike, schema: type[M], config: GenerationConfig | None = None, **overrides: Any
    ) -> Structured[M]:
        """:meth:`generate_structured` for a conversation."""
        resolved = self._structured_config(schema, config, overrides)
        completion = self._call(self._chat, as_messages(messages), resolved, None, None)[0]
        return parse_structured(schema, completion, resolved)

    async def agenerate(
        self, prompt: str, config: GenerationConfig | None = None, **overrides: Any
    ) -> list[Completion]:
        """Async :meth:`generate`."""
        resolved = self.resolve_config(config, overrides)
        return await self._agenerate(prompt, resolved)

    async def agenerate_batch(
        self, prompts: Sequence[str], config: GenerationConfig | None = None, **overrides: Any
    ) -> list[list[Completion]]:
        """Async :meth:`generate_batch`."""
        resolved = self.resolve_config(config, overrides)
        return list(await asyncio.gather(*(self._agenerate(p, resolved) for p in prompts)))

    async def achat(
        self, messages: MessagesLike, config: GenerationConfig | None = None, *,
        tools: Sequence[ToolSchema] | None = None, tool_choice: ToolChoice = None, **overrides: Any,
    ) -> list[Completion]:
        """Async :meth:`chat`."""
        resolved = self.resolve_config(config, overrides)
        return await self._achat(as_messages(messages), resolved, _tool_list(tools), tool_choice)

    async def agenerate_structured(
        self, prompt: str, schema: type[M], config: GenerationConfig | None = None, **overrides: Any
    ) -> Structured[M]:
        """Async :meth:`generate_structured`."""
        resolved = self._structured_config(schema, config, overrides)
        return parse_structured(schema, (await self._agenerate(prompt, resolved))[0], resolved)

    async def achat_structured(
        self, messages: MessagesLike, schema: type[M], config: GenerationConfig | None = None, **overrides: Any
    ) -> Structured[M]:
        """Async :meth:`chat_structured`."""
        resolved = self._structured_config(schema, config, overrides)
        completion = (await self._achat(as_messages(messages), resolved, None, None))[0]
        return parse_structured(schema, completion, resolved)

    def resolve_config(self, config: GenerationConfig | None, overrides: dict[str, Any]) -> GenerationConfig:
        """Apply per-call overrides and reject knobs this backend cannot honour."""
        self._ensure_open()
        resolved = (config or GenerationConfig()).with_overrides(**overrides)
        self.check_config(resolved)
        return resolved

    def check_config(self, config: GenerationConfig) -> None:
        """Raise :class:`UnsupportedKnobError` for a set knob or constraint kind outside the capabilities."""
        current = self.capabilities  # read once: a server backend may replace it (a detected dialect) meanwhile
        checked, accepted = self._accepted  # a config accepted under these capabilities is not checked again
        try:  # one hash of the config: it is not cached, and costs as much as the rest of a mock call's checks
            if checked is not current:
                hash(config)
            elif config in accepted:
                return
        except TypeError:  # a config holding a dict (a JSON schema constraint) is not remembered
            remember = False
        else:
            remember = True
        for knob in sorted(config.non_default_knobs() - current.knobs - {"constraint"}):
            raise UnsupportedKnobError(self.name, knob, current.notes.get(knob, ""))
        if config.constraint is not None and config.constraint.kind not in current.constraints:
            knob = f"constraint {config.constraint.kind!r}"
            raise UnsupportedKnobError(self.name, knob, current.notes.get("constraint", ""))
        if not remember:
            return
        if checked is not current or len(accepted) >= _ACCEPTED_CONFIGS:
            self._accepted = (current, {config})
        else:
            accepted.add(config)

    # ------------------------------------------------------------- overridable paths
    def _generate_batch(self, prompts: list[str], config: GenerationConfig) -> list[list[Completion]]:
        return [self._generate(p, config) for p in prompts]

    async def _agenerate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        # Local engines are CPU/GPU bound: run them off the event loop, under the call gate.
        return await asyncio.to_thread(self._call, self._generate, prompt, config)

    async def _achat(
        self, messages: list[Message], config: GenerationConfig, tools: list[ToolSchema] | None, tool_choice: ToolChoice
    ) -> list[Completion]:
        return await asyncio.to_thread(self._call, self._chat, messages, config, tools, tool_choice)

    # ---------------------------------------------------------------------- helpers
    def _ensure_open(self) -> None:
        if self._closed:
            raise BackendClosedError(f"the {self.name} backend is closed: create a new one to make more calls")

    def _call(self, method: Callable[..., R], *args: Any) -> R:
        """Run one engine call under the concurrency policy."""
        with self._gate.hold(self.capabilities.concurrent):
            self._ensure_open()
            return method(*args)

    def _call_stream(self, method: Callable[..., Iterator[str]], *args: Any) -> Iterator[str]:
        """Start a stream now (errors surface here) and hold the gate until it is exhausted or closed."""
        hold = self._gate.hold(self.capabilities.concurrent)
        hold.__enter__()
        try:
            self._ensure_open()
            chunks = method(*args)
        except BaseException:
            hold.__exit__(None, None, None)
            raise
        return GatedStream(chunks, hold)

    def _stream_config(self, config: GenerationConfig | None, overrides: dict[str, Any]) -> GenerationConfig:
        resolved = self.resolve_config(config, overrides)
        if resolved.n != 1:
            raise UnsupportedKnobError(self.name, "n", "streaming yields one completion; use n=1")
        if not self.capabilities.streaming:
            raise UnsupportedKnobError(self.name, "streaming")
        return resolved

    def _structured_config(
        self, schema: type[BaseModel], config: GenerationConfig | None, overrides: dict[str, Any]
    ) -> GenerationConfig:
        return self.resolve_config(config, {**overrides, "constraint": JsonSchema.of(schema), "n": 1})


class WrappingBackend(Backend):
    """A backend in front of another: tokenizer, chat template, tool format and capabilities are the inner one's."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities
        self.tool_format = inner.tool_format

    @property
    def tool_calling(self) -> bool:
        """Tools work here when this wrapper's own tool format fits the template, or the inner backend takes them."""
        return super().tool_calling or self.inner.tool_calling

    def count_tokens(self, text: str) -> int:
        self._ensure_open()
        return self.inner.count_tokens(text)

    @property
    def chat_template(self) -> str:
        return self.inner.chat_template

    @property
    def special_tokens(self) -> dict[str, str]:
        return self.inner.special_tokens


class Stopwatch:
    """Measures a call's latency: ``with Stopwatch() as sw: ...; sw.elapsed``."""

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        self.elapsed = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter() - self._start


def parse_structured(schema: type[M], completion: Completion, config: GenerationConfig) -> Structured[M]:
    """Validate a completion against ``schema``; :class:`ConstraintViolationError` with the text if it fails."""
    constraint = config.constraint.describe() if config.constraint is not None else schema.__name__
    if completion.finish_reason == "length":
        raise ConstraintViolationError(
            f"the structured answer was cut off at max_new_tokens={config.max_new_tokens} before it was complete: "
            "raise max_new_tokens", text=completion.text, constraint=constraint)
    try:
        value = schema.model_validate_json(completion.text)
    except ValueError as exc:
        raise ConstraintViolationError(
            f"the completion is not a valid {schema.__name__}: {str(exc).splitlines()[0]}",
            text=completion.text, constraint=constraint) from None
    return Structured[M](value=value, completion=completion)


def with_tool_calls(completion: Completion, text: str, calls: tuple[ToolCall, ...]) -> Completion:
    """``completion`` with the calls parsed out of its text (finish reason ``tool_calls`` when there are any)."""
    if not calls:
        return completion
    return completion.model_copy(update={"text": text, "tool_calls": calls, "finish_reason": "tool_calls"})


def _tool_list(tools: Sequence[ToolSchema] | None) -> list[ToolSchema] | None:
    return list(tools) if tools else None


class GatedStream(Iterator[str]):
    """A stream that releases its backend's gate when exhausted, closed or dropped."""

    def __init__(self, chunks: Iterator[str], hold: GateHold) -> None:
        self._chunks = chunks
        self._hold = hold

    def __next__(self) -> str:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the stream early; the engine abandons the generation."""
        close = getattr(self._chunks, "close", None)
        try:
            if close is not None:
                close()
        finally:
            self._hold.__exit__(None, None, None)

    def __del__(self) -> None:
        self.close()
