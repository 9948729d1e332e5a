"""ChatReActRunner: the ReAct loop for chat models that call tools with JSON.

The system message lists the tools as JSON schemas (OpenAI function format); the model
answers each turn with one object ``{"thought": ..., "tool": ..., "arguments": {...}}``
and receives ``Observation: ...`` as the next user message, until it calls ``finish``.
Everything else (corrective observations, repeated actions, truncation, max steps, the
CoT-SC fallback, per-run tools) is :class:`ReActRunner`'s.

Each step renders the conversation with the model's own chat template: chat templates
are not append-only in general, so the prompt cannot be grown by concatenation here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from typing import Any

from promptlab.backends.base import Backend
from promptlab.chat import Message
from promptlab.config import GenerationConfig
from promptlab.errors import ContextLengthError
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners._react_effects import GenerateOrOverflow
from promptlab.runners.flow import Effect, Generate
from promptlab.runners.react import FINISH, ReActRunner, Turn
from promptlab.runners.react_parse import ActionParseError, ParsedAction, parse_tool_call
from promptlab.tools import ToolRegistry
from promptlab.tracing import TraceRecorder

__all__ = ["DEFAULT_CHAT_CONFIG", "FINISH_SCHEMA", "ChatReActRunner"]

FINISH_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": FINISH,
        "description": "Give the final answer and end the task.",
        "parameters": {"type": "object", "properties": {"answer": {"type": "string", "description": "The answer."}},
                       "required": ["answer"]},
    },
}
DEFAULT_CHAT_CONFIG = GenerationConfig(max_new_tokens=256, temperature=0.0, stop=("\nObservation:",))


class ChatReActRunner(ReActRunner):
    """ReAct with JSON tool calls in a chat conversation (template ``react_json``)."""

    strategy = "react_json"

    def __init__(self, backend: Backend, *, template: PromptTemplate | str = "react_json",
                 config: GenerationConfig | None = None, **options: Any) -> None:
        super().__init__(backend, template=template, config=config or DEFAULT_CHAT_CONFIG, **options)
        self._chat_config = self._step_configs[0].with_overrides(stop=(config or DEFAULT_CHAT_CONFIG).stop)

    def messages(self, question: str, tools: ToolRegistry | None = None) -> list[Message]:
        """The conversation's first messages: the system message with the tool schemas, and the question."""
        tools = tools if tools is not None else self._shared if self._shared is not None else self._new_tools()
        schemas = json.dumps([*tools.json_schemas(), FINISH_SCHEMA], indent=1, ensure_ascii=False)
        return self.template_for(tools).render_messages(question=question, tools=schemas)

    def prompt(self, question: str, tools: ToolRegistry | None = None) -> str:
        """The first step's prompt: :meth:`messages` in the model's chat template."""
        return self.backend.format_chat(self.messages(question, tools))

    def hint(self, tools: ToolRegistry) -> str:
        names = ", ".join([*tools.names, FINISH])
        return f'Valid tools: {names}. Reply with one JSON object: {{"tool": NAME, "arguments": {{...}}}}.'

    def _loop(self, question: str, tools: ToolRegistry, recorder: TraceRecorder) -> Generator[Effect, Any, str]:
        messages = self.messages(question, tools)
        repeats: dict[tuple[str, str, str], int] = {}
        for i in range(1, self.max_steps + 1):
            prompt = self.backend.format_chat(messages)
            started = time.perf_counter()
            reply = yield GenerateOrOverflow(Generate(prompt, self._chat_config))
            if isinstance(reply, ContextLengthError):
                recorder.add("error", prompt=prompt, observation=str(reply))
                return "context_length"
            completion = reply[0]
            latency = time.perf_counter() - started
            try:
                action: ParsedAction | ActionParseError = parse_tool_call(completion.text)
            except ActionParseError as exc:
                action = exc
            thought = action.thought if isinstance(action, ParsedAction) else ""
            outcome = yield from self._act(action, tools)
            text, status = self._record(Turn(i, thought, prompt, completion, latency), outcome, repeats, recorder)
            if text is None:
                return status or "ok"
            messages += [Message(role="assistant", content=completion.text.strip()),
                         Message(role="user", content=f"Observation: {text}")]
            if status is not None:
                return status
        return "max_steps"
