"""Chat messages and model chat templates, rendered the way transformers does."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from pydantic import BaseModel, ConfigDict

from promptlab._render_env import PromptEnvironment
from promptlab.errors import TemplateError, TemplateSecurityError

__all__ = [
    "CHATML_TEMPLATE",
    "Message",
    "MessagesLike",
    "Role",
    "ToolCall",
    "ToolSchema",
    "as_messages",
    "render_chat_template",
    "template_payload",
]

Role = Literal["system", "user", "assistant", "tool"]

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class ToolCall(BaseModel):
    """One tool call a model made: which tool, with which arguments, under which id.

    ``arguments`` is the parsed JSON object, or None when the model's arguments were not a
    JSON object; ``arguments_json`` is what the model sent, and ``error`` says what was wrong
    with it (malformed JSON, an unknown tool, arguments failing the tool's schema). A runner
    turns an erroneous call into an error observation; it never raises.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: dict[str, Any] | None = None
    arguments_json: str = ""
    error: str | None = None


class Message(BaseModel):
    """One chat turn. An assistant turn may carry ``tool_calls``; a ``tool`` turn answers one by ``tool_call_id``."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


MessagesLike = Sequence[Message | Mapping[str, Any]]

ToolSchema = dict[str, Any]
"""A tool in the OpenAI function format: ``{"type": "function", "function": {"name", "description", "parameters"}}``."""


def as_messages(messages: Iterable[Message | Mapping[str, Any]]) -> list[Message]:
    """Normalise dicts such as ``{"role": "user", "content": "hi"}`` to Messages."""
    return [m if isinstance(m, Message) else Message.model_validate(m) for m in messages]


def render_chat_template(
    template: str,
    messages: MessagesLike,
    *,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    **extra: Any,
) -> str:
    """Render a tokenizer ``chat_template`` exactly as transformers' apply_chat_template."""
    environment, compiled = _compile(template)
    payload = [template_payload(m) for m in as_messages(messages)]
    variables = dict(messages=payload, add_generation_prompt=add_generation_prompt, bos_token=bos_token,
                     eos_token=eos_token, **extra)
    try:
        return environment.render(compiled, variables, where="chat template")
    except TemplateSecurityError:
        raise
    except TemplateError as exc:  # a template refusing the conversation, or failing on it
        raise TemplateError(f"chat template failed: {str(exc).removeprefix('chat template: ')}") from None


def template_payload(message: Message) -> dict[str, Any]:
    """A message as chat templates expect it (transformers' dict form); unset optional fields are absent."""
    payload: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        payload["tool_calls"] = [
            {"id": call.id, "type": "function",
             "function": {"name": call.name, "arguments": call.arguments if call.arguments is not None
                          else call.arguments_json}}
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        payload["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        payload["name"] = message.name
    return payload


def _raise_exception(message: str) -> None:
    raise jinja2.TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


class _GenerationTag(Extension):
    """transformers' ``{% generation %}...{% endgeneration %}`` (marks assistant tokens): renders its body."""

    tags = {"generation"}  # noqa: RUF012 - jinja's Extension API

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None,
            sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


@lru_cache(maxsize=32)
def _compile(template: str) -> tuple[PromptEnvironment, jinja2.Template]:
    """A chat template, compiled in the prompt templates' sandbox with the same :class:`RenderLimits`
    (a template read from a downloaded model file is untrusted code)."""
    env = PromptEnvironment(undefined=jinja2.Undefined, extensions=[_GenerationTag])
    env.add_filter("tojson", _tojson)
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        compiled, _ = env.compile_template(template, name="chat template", filename="<chat template>")
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"chat template does not parse (line {exc.lineno}): {exc.message}") from None
    return env, compiled
