"""The backend contract: one interface in front of every engine.

A concrete backend implements ``_generate`` (one prompt, ``config.n`` completions)
and ``count_tokens``; everything else (batching, chat, async, validation of knobs
against declared capabilities, per-call overrides) is shared here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from promptlab.chat import CHATML_TEMPLATE, MessagesLike, render_chat_template
from promptlab.config import GenerationConfig
from promptlab.errors import UnsupportedKnobError

FinishReason = Literal["stop", "length", "eos"]

ALL_KNOBS = frozenset(GenerationConfig.model_fields)


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


@dataclass(frozen=True)
class Capabilities:
    """What a backend can honour. A knob outside ``knobs`` is rejected, never ignored."""

    knobs: frozenset[str] = ALL_KNOBS
    streaming: bool = False
    prefix_cache: bool = False
    notes: dict[str, str] = field(default_factory=dict)
    """Per-knob hints shown when a knob is rejected (what to do instead)."""


class Backend(ABC):
    """Base class of every engine. Thread-safety: one call at a time per instance."""

    name: str = "backend"
    capabilities: Capabilities = Capabilities()

    # ----------------------------------------------------------------- engine hooks
    @abstractmethod
    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        """Return ``config.n`` completions of ``prompt`` (config already validated)."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` encodes to with this model's tokenizer."""

    @property
    def chat_template(self) -> str:
        """The model's own chat template (Jinja, as in tokenizer_config.json)."""
        return CHATML_TEMPLATE

    @property
    def special_tokens(self) -> dict[str, str]:
        """``bos_token`` / ``eos_token`` strings handed to the chat template."""
        return {}

    def _stream(self, prompt: str, config: GenerationConfig) -> Iterator[str]:
        raise UnsupportedKnobError(self.name, "streaming")

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release the engine's resources (model memory, connections)."""

    # ------------------------------------------------------------------- public API
    def generate(self, prompt: str, config: GenerationConfig | None = None, **overrides: Any) -> list[Completion]:
        """Complete one prompt; returns ``n`` completions."""
        return self._generate(prompt, self.resolve_config(config, overrides))

    def generate_batch(
        self, prompts: Sequence[str], config: GenerationConfig | None = None, **overrides: Any
    ) -> list[list[Completion]]:
        """Complete several prompts; returns one list of ``n`` completions per prompt."""
        resolved = self.resolve_config(config, overrides)
        return self._generate_batch(list(prompts), resolved)

    def complete(self, prompt: str, config: GenerationConfig | None = None, **overrides: Any) -> Completion:
        """The first completion of one prompt: the common single-answer case."""
        return self.generate(prompt, config, **overrides)[0]

    def chat(
        self, messages: MessagesLike, config: GenerationConfig | None = None, **overrides: Any
    ) -> list[Completion]:
        """Reply to a conversation, formatted with the model's own chat template."""
        return self.generate(self.format_chat(messages), config, **overrides)

    def format_chat(self, messages: MessagesLike, *, add_generation_prompt: bool = True) -> str:
        """The exact prompt text ``chat`` sends for these messages."""
        return render_chat_template(
            self.chat_template, messages, add_generation_prompt=add_generation_prompt, **self.special_tokens
        )

    def stream(self, prompt: str, config: GenerationConfig | None = None, **overrides: Any) -> Iterator[str]:
        """Yield text chunks as they are decoded; text that may become a stop is held back."""
        resolved = self.resolve_config(config, overrides)
        if resolved.n != 1:
            raise UnsupportedKnobError(self.name, "n", "streaming yields one completion; use n=1")
        if not self.capabilities.streaming:
            raise UnsupportedKnobError(self.name, "streaming")
        return self._stream(prompt, resolved)

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
        self, messages: MessagesLike, config: GenerationConfig | None = None, **overrides: Any
    ) -> list[Completion]:
        """Async :meth:`chat`."""
        return await self.agenerate(self.format_chat(messages), config, **overrides)

    def resolve_config(self, config: GenerationConfig | None, overrides: dict[str, Any]) -> GenerationConfig:
        """Apply per-call overrides and reject knobs this backend cannot honour."""
        resolved = (config or GenerationConfig()).with_overrides(**overrides)
        self.check_config(resolved)
        return resolved

    def check_config(self, config: GenerationConfig) -> None:
        """Raise :class:`UnsupportedKnobError` for a set knob outside the capabilities."""
        for knob in sorted(config.non_default_knobs() - self.capabilities.knobs):
            raise UnsupportedKnobError(self.name, knob, self.capabilities.notes.get(knob, ""))

    # ------------------------------------------------------------- overridable paths
    def _generate_batch(self, prompts: list[str], config: GenerationConfig) -> list[list[Completion]]:
        return [self._generate(p, config) for p in prompts]

    async def _agenerate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        # Local engines are CPU/GPU bound and not re-entrant: run them off the event
        # loop, one call at a time per instance.
        return await asyncio.to_thread(self._generate_locked, prompt, config)

    def _generate_locked(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        lock = self.__dict__.setdefault("_engine_lock", threading.Lock())
        with lock:
            return self._generate(prompt, config)

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WrappingBackend(Backend):
    """A backend in front of another: tokenizer, chat template and capabilities are the inner one's."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities

    def count_tokens(self, text: str) -> int:
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
