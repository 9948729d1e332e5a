"""ToolCallingReActRunner: the ReAct loop with the model's native tool calls.

The tools go to :meth:`Backend.chat` as function schemas (``tools=``): a server sends them
in the OpenAI ``tools`` field, a local engine renders them with the model's own chat
template and parses the model's call syntax back. Each call's result returns as a ``tool``
message answering the call's id. A reply without a tool call is the answer; so is a call
of ``finish``. A call the backend flagged (unknown tool, malformed JSON, arguments failing
the schema, no id) becomes an error observation, with what the model sent in the trace.

:func:`chat_react_runner` picks this variant when the backend can take tools, and the
JSON-in-text :class:`ChatReActRunner` otherwise.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from promptlab.backends.base import Backend, ToolChoice
from promptlab.chat import Message, ToolSchema
from promptlab.config import GenerationConfig
from promptlab.errors import ConfigError
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners.flow import Chat, Effect, prompt_text
from promptlab.runners.react import FINISH, Episode, Proposal, ReActRunner, Turn
from promptlab.runners.react_json import FINISH_SCHEMA, ChatReActRunner
from promptlab.runners.react_parse import ActionParseError, ParsedAction
from promptlab.tools import ToolRegistry
from promptlab.tracing import TraceRecorder

__all__ = ["DEFAULT_NATIVE_CONFIG", "ToolCallingReActRunner", "chat_react_runner"]

DEFAULT_NATIVE_CONFIG = GenerationConfig(max_new_tokens=256, temperature=0.0)


class ToolCallingReActRunner(ReActRunner):
    """ReAct with native tool calls (template ``react_native``); ``tool_choice`` as in :meth:`Backend.chat`.

    ``tool_choice="required"`` makes every step a call (the answer comes through ``finish``);
    engines with a grammar engine then constrain the call to the tools' schemas.
    """

    strategy = "react_native"

    def __init__(self, backend: Backend, *, template: PromptTemplate | str = "react_native",
                 config: GenerationConfig | None = None, tool_choice: ToolChoice = "auto", **options: Any) -> None:
        super().__init__(backend, template=template, config=config or DEFAULT_NATIVE_CONFIG, **options)
        if self.constrained:
            raise ConfigError("native tool calls are parsed by the backend (a grammar engine constrains them "
                              "with tool_choice='required'); for constrained JSON, ChatReActRunner(constrained=True)")
        self.tool_choice = tool_choice
        self._chat_config = self._step_configs[0].with_overrides(stop=(config or DEFAULT_NATIVE_CONFIG).stop)

    def messages(self, question: str, tools: ToolRegistry | None = None) -> list[Message]:
        """The conversation's first messages (the tools travel beside them, see :meth:`schemas`)."""
        tools = tools if tools is not None else self._shared if self._shared is not None else self._new_tools()
        return self.template_for(tools).render_messages(question=question)

    @staticmethod
    def schemas(tools: ToolRegistry) -> tuple[ToolSchema, ...]:
        """The function schemas sent with each step: the tools and ``finish``."""
        return (*tools.json_schemas(), FINISH_SCHEMA)

    def prompt(self, question: str, tools: ToolRegistry | None = None) -> str:
        """The first step's prompt as the model sees it (where the backend renders it locally)."""
        tools = tools if tools is not None else self._shared if self._shared is not None else self._new_tools()
        return prompt_text(self.backend, tuple(self.messages(question, tools)), self.schemas(tools))

    def hint(self, tools: ToolRegistry) -> str:
        return f"Call one of the tools: {', '.join([*tools.names, FINISH])}."

    def begin(self, question: str, tools: ToolRegistry) -> Episode:
        return Episode(question, tools, messages=self.messages(question, tools), schemas=self.schemas(tools))

    def propose(self, episode: Episode, i: int, recorder: TraceRecorder) -> Generator[Effect, Any, Proposal | str]:
        conversation, schemas = tuple(episode.messages), episode.schemas
        shown = prompt_text(self.backend, conversation, schemas)
        reply = yield from self._ask(Chat(conversation, self._chat_config, schemas, self.tool_choice), shown, recorder)
        if isinstance(reply, str):
            return reply
        completion, latency = reply
        calls = completion.tool_calls
        sent = {"tool_calls": [c.model_dump(mode="json") for c in calls]} if calls else None
        turn = Turn(i, completion.text.strip() if calls else "", shown, completion, latency, sent)
        if not calls:
            if completion.text.strip():  # a plain reply is the answer
                return Proposal(turn, ParsedAction(FINISH, {"answer": completion.text.strip()}, completion.text))
            return Proposal(turn, ActionParseError("The reply has neither a tool call nor an answer."))
        call = calls[0]
        if call.error is not None:
            return Proposal(turn, ActionParseError(f"Invalid tool call: {call.error}."), call=call)
        return Proposal(turn, ParsedAction(call.name, call.arguments or {}, call.arguments_json), call=call)

    def observe(self, episode: Episode, proposal: Proposal, observation: str) -> None:
        call, text = proposal.call, proposal.turn.completion.text.strip()
        if call is not None and call.name:
            episode.messages += [Message(role="assistant", content=text, tool_calls=(call,)),
                                 Message(role="tool", content=observation, tool_call_id=call.id, name=call.name)]
        else:  # no call the conversation could answer by id: the correction is a user turn
            sent = call.arguments_json if call is not None else ""
            episode.messages += [Message(role="assistant", content=text or sent or "(no reply)"),
                                 Message(role="user", content=observation)]


def chat_react_runner(backend: Backend, **options: Any) -> ReActRunner:
    """The chat ReAct agent for ``backend``: native tool calls where it takes tools, else JSON in the text."""
    if backend.tool_calling:
        return ToolCallingReActRunner(backend, **options)
    return ChatReActRunner(backend, **options)
