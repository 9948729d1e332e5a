"""Show a runner's model text on the terminal as it is generated (``promptlab run`` on a terminal)."""

from __future__ import annotations

import sys
from typing import TextIO

from promptlab.backends.base import Backend, Completion, FinishReason, ToolChoice, Usage, WrappingBackend
from promptlab.chat import Message, ToolSchema
from promptlab.config import GenerationConfig

__all__ = ["EchoBackend"]


class EchoBackend(WrappingBackend):
    """Streams each single-completion call of ``inner`` to ``sink`` while the runner waits for it.

    Display only: a streamed call's completion tokens are its chunks and its finish reason
    inferred (the engine does not report them on a stream), so the CLI never streams a run
    whose trace or JSON is kept. Calls with ``n > 1``, beams or a constraint, and chat calls,
    go to ``inner`` unchanged.
    """

    def __init__(self, inner: Backend, sink: TextIO | None = None) -> None:
        super().__init__(inner)
        self.name = inner.name
        self._sink = sink or sys.stdout

    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        if config.n > 1 or config.num_beams > 1 or config.constraint is not None or not self.capabilities.streaming:
            return self.inner.generate(prompt, config)
        parts: list[str] = []
        for chunk in self.inner.stream(prompt, config):
            parts.append(chunk)
            self._sink.write(chunk)
            self._sink.flush()
        self._sink.write("\n")
        produced = len(parts)  # about one chunk per token
        finish: FinishReason = "length" if produced >= config.max_new_tokens else "stop" if config.stop else "eos"
        usage = Usage(prompt_tokens=self.inner.count_tokens(prompt), completion_tokens=produced)
        return [Completion(text="".join(parts), finish_reason=finish, usage=usage)]

    def _chat(
        self, messages: list[Message], config: GenerationConfig, tools: list[ToolSchema] | None, tool_choice: ToolChoice
    ) -> list[Completion]:
        return self.inner.chat(messages, config, tools=tools, tool_choice=tool_choice)
