"""ChatReActRunner: the ReAct loop for chat models that call tools with JSON.

The system message lists the tools as JSON schemas (OpenAI function format); the model
answers each turn with one object ``{"thought": ..., "tool": ..., "arguments": {...}}``
and receives ``Observation: ...`` as the next user message, until it calls ``finish``.
Everything else (corrective observations, repeated actions, truncation, max steps, the
CoT-SC fallback, per-run tools) is :class:`ReActRunner`'s.

Each step sends the conversation with the :class:`~promptlab.runners.flow.Chat` effect: a
local engine renders it with the model's own chat template, a server with its own, so the
runner works on every backend.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from promptlab.backends.base import Backend
from promptlab.chat import Message
from promptlab.config import GenerationConfig
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners.flow import Chat, Effect, prompt_text
from promptlab.runners.react import FINISH, Episode, Proposal, ReActRunner, Turn
from promptlab.runners.react_parse import ActionParseError, ParsedAction, parse_tool_call
from promptlab.runners.slots import tool_call_constraint
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
    """ReAct with JSON tool calls in a chat conversation (template ``react_json``).

    ``constrained``: each reply is generated under the tools' JSON schemas
    (:func:`~promptlab.runners.slots.tool_call_constraint`, the ``thought`` string first);
    None where the backend honours JSON schemas; False (default) never.
    """

    strategy = "react_json"
    slot_kind = "json_schema"

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
        return prompt_text(self.backend, tuple(self.messages(question, tools)))

    def slot_config(self, tools: ToolRegistry) -> GenerationConfig | None:
        """The chat config with each reply constrained to one call of ``tools`` (None when unconstrained)."""
        if not self.constrained:
            return None
        key = tuple(tools.names)
        if key not in self._slot_configs:
            constraint = tool_call_constraint(tools, FINISH_SCHEMA)
            self._slot_configs[key] = self._chat_config.with_overrides(constraint=constraint)
        return self._slot_configs[key]

    def hint(self, tools: ToolRegistry) -> str:
        names = ", ".join([*tools.names, FINISH])
        return f'Valid tools: {names}. Reply with one JSON object: {{"tool": NAME, "arguments": {{...}}}}.'

    def begin(self, question: str, tools: ToolRegistry) -> Episode:
        return Episode(question, tools, messages=self.messages(question, tools))

    def propose(self, episode: Episode, i: int, recorder: TraceRecorder) -> Generator[Effect, Any, Proposal | str]:
        conversation = tuple(episode.messages)
        shown = prompt_text(self.backend, conversation)
        config = self.slot_config(episode.tools) or self._chat_config
        reply = yield from self._ask(Chat(conversation, config), shown, recorder)
        if isinstance(reply, str):
            return reply
        completion, latency = reply
        try:
            action: ParsedAction | ActionParseError = parse_tool_call(completion.text)
        except ActionParseError as exc:
            action = exc
        thought = action.thought if isinstance(action, ParsedAction) else ""
        return Proposal(Turn(i, thought, shown, completion, latency), action)

    def observe(self, episode: Episode, proposal: Proposal, observation: str) -> None:
        episode.messages += [Message(role="assistant", content=proposal.turn.completion.text.strip()),
                             Message(role="user", content=f"Observation: {observation}")]
