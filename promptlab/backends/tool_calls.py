"""Tool calls in process: the syntax a model's chat template speaks, parsed back into checked ToolCalls.

A tool-capable chat template renders ``tools=`` itself and tells the model how to call
one; the model answers in that syntax and :class:`ToolSyntax` reads it back:

* ``hermes`` (Hermes, Qwen2.5, SmolLM3...): ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``;
* ``llama3`` (Llama 3.1 / 3.2 / 3.3): the reply is ``{"name": ..., "parameters": {...}}``;
* ``json``: the JSON-in-text fallback for templates without tool support: the tools are
  described in the system message and the reply is ``{"name": ..., "arguments": {...}}``.

Every call is checked against its tool's schema (:func:`checked_call`): an unknown tool,
malformed JSON or arguments failing the schema set ``ToolCall.error``, never raise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from promptlab.chat import Message, ToolCall, ToolSchema
from promptlab.errors import ConfigError

__all__ = [
    "JSON_TOOLS_PROMPT", "SYNTAXES", "TOOL_FORMATS", "ToolFormat", "ToolSyntax", "check_tool_format", "checked_call",
    "schema_problem", "syntax_of_template", "template_family",
]

ToolFormat = Literal["auto", "hermes", "llama3", "json"]
TOOL_FORMATS: tuple[str, ...] = ("auto", "hermes", "llama3", "json")

_HERMES_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_PYTHON_TAG = "<|python_tag|>"
_FENCE = re.compile(r"```(?:json)?")
JSON_TOOLS_PROMPT = (
    "You can call these tools. To call one, reply with only a JSON object "
    '{{"name": <tool name>, "arguments": {{<argument name>: <value>, ...}}}} and nothing else; '
    "the tool's result comes back in the next message. To answer without a tool, reply in plain text.\n"
    "Tools:\n{tools}"
)


@dataclass(frozen=True)
class ToolSyntax:
    """How one family of models writes tool calls, and whether its chat template renders the tools."""

    name: Literal["hermes", "llama3", "json"]
    native: bool
    """The chat template renders ``tools=`` itself; else the tools go into the system message as JSON."""

    def messages(self, messages: Sequence[Message], tools: Sequence[ToolSchema]) -> list[Message]:
        """The conversation to render: as is for a native template, else with the tools in the system
        message and earlier tool calls and results written as text."""
        if self.native:
            return list(messages)
        prompt = JSON_TOOLS_PROMPT.format(tools=json.dumps(list(tools), ensure_ascii=False, indent=1))
        folded = [_as_text(m) for m in messages]
        if folded and folded[0].role == "system":
            return [Message(role="system", content=f"{folded[0].content}\n\n{prompt}"), *folded[1:]]
        return [Message(role="system", content=prompt), *folded]

    def parse(self, text: str, tools: Sequence[ToolSchema]) -> tuple[str, tuple[ToolCall, ...]]:
        """``(text without the calls, the calls)`` of a reply; each call checked against ``tools``."""
        if self.name == "hermes":
            blocks = [m[1] for m in _HERMES_BLOCK.finditer(text)]
            content = _HERMES_BLOCK.sub("", text).strip() if blocks else text
            return content, tuple(_from_json(block, i, tools) for i, block in enumerate(blocks))
        body = text.strip()
        body = body.removeprefix(_PYTHON_TAG).strip() if self.name == "llama3" else _FENCE.sub("", body).strip()
        if not body.startswith("{"):
            return text, ()
        calls = tuple(_from_json(raw, i, tools) for i, raw in enumerate(_json_objects(body)))
        return "", calls

    def call_schema(self, tools: Sequence[ToolSchema], tool_choice: str | None) -> dict[str, Any]:
        """The JSON schema of exactly one well-formed call of the tools ``tool_choice`` allows."""
        names = [_name_of(t) for t in tools]
        allowed = [t for t, n in zip(tools, names, strict=True)
                   if tool_choice in (None, "auto", "required") or n == tool_choice]
        if not allowed:
            raise ConfigError(f"tool_choice={tool_choice!r} names no tool offered; the tools are: "
                              f"{', '.join(names) or '(none)'}")
        key = "parameters" if self.name == "llama3" else "arguments"
        variants: list[dict[str, Any]] = [
            {"type": "object", "properties": {"name": {"const": _name_of(t)}, key: _parameters_of(t)},
             "required": ["name", key], "additionalProperties": False} for t in allowed]
        return variants[0] if len(variants) == 1 else {"anyOf": variants}

    def grammar(self, tools: Sequence[ToolSchema], tool_choice: str | None) -> str:
        """A Lark grammar (llguidance) that admits exactly one well-formed call of the allowed tools."""
        schema = json.dumps(self.call_schema(tools, tool_choice))
        if self.name == "hermes":
            return f'start: "<tool_call>\\n" call "\\n</tool_call>"\ncall: %json {schema}\n'
        return f"start: %json {schema}\n"


SYNTAXES: dict[str, ToolSyntax] = {
    "hermes": ToolSyntax("hermes", native=True),
    "llama3": ToolSyntax("llama3", native=True),
    "json": ToolSyntax("json", native=False),
}


def check_tool_format(tool_format: str) -> ToolFormat:
    """``tool_format`` if it is one of :data:`TOOL_FORMATS`, else a ConfigError listing them."""
    if tool_format not in TOOL_FORMATS:
        raise ConfigError(f"unknown tool_format {tool_format!r}; choose one of {', '.join(TOOL_FORMATS)}")
    return tool_format  # type: ignore[return-value]


def syntax_of_template(template: str) -> ToolSyntax | None:
    """The tool-call syntax a chat template teaches its model, or None when it renders no tools."""
    if "tools" not in template:
        return None
    if "<tool_call>" in template:
        return SYNTAXES["hermes"]
    if _PYTHON_TAG in template or '"parameters": dictionary of argument name' in template:
        return SYNTAXES["llama3"]
    return None


def template_family(template: str) -> str:
    """A short name for a chat template, for error messages (``ChatML``, ``Llama 3``, ...)."""
    for marker, family in (("<|im_start|>", "ChatML"), ("<|start_header_id|>", "Llama 3"),
                           ("<start_of_turn>", "Gemma"), ("[INST]", "Mistral/Llama 2 [INST]"),
                           ("<|user|>", "Zephyr/Phi"), ("### Instruction", "Alpaca")):
        if marker in template:
            return f"{family}-style"
    head = " ".join(template.split())[:40]
    return f"starting {head!r}"


def checked_call(call_id: str, name: str, arguments: str | dict[str, Any] | None,
                 tools: Sequence[ToolSchema]) -> ToolCall:
    """A ToolCall with ``arguments`` parsed and validated against the named tool's schema.

    ``arguments`` is what the model sent: a JSON string (servers) or an object (in-process
    syntaxes). Problems are reported in ``ToolCall.error``, never raised.
    """
    sent = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    if not name:
        return ToolCall(id=call_id, name="", arguments_json=sent, error="the tool call names no tool")
    parsed: Any = arguments
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return ToolCall(id=call_id, name=name, arguments_json=sent,
                            error=f"the arguments of {name!r} are not valid JSON ({exc.msg}): {_short(arguments)}")
    if not isinstance(parsed, dict):
        return ToolCall(id=call_id, name=name, arguments_json=sent,
                        error=f"the arguments of {name!r} must be a JSON object, got {_short(sent)}")
    tool = next((t for t in tools if _name_of(t) == name), None)
    if tool is None:
        known = ", ".join(_name_of(t) for t in tools) or "none"
        return ToolCall(id=call_id, name=name, arguments=parsed, arguments_json=sent,
                        error=f"there is no tool {name!r}; the tools are: {known}")
    problem = schema_problem(parsed, _parameters_of(tool))
    if problem is not None:
        return ToolCall(id=call_id, name=name, arguments=parsed, arguments_json=sent,
                        error=f"the arguments of {name!r} do not match its schema: {problem}")
    return ToolCall(id=call_id, name=name, arguments=parsed, arguments_json=sent)


def schema_problem(value: Any, schema: dict[str, Any]) -> str | None:
    """The most relevant way ``value`` fails the JSON ``schema`` (``at 'x': ...``), or None when it is valid."""
    try:
        error = best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(value))
    except SchemaError as exc:
        return f"the tool's own schema is invalid: {exc.message}"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"at {where!r}: {error.message}" if where else error.message


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    """One validator per schema (building one costs far more than a check), its schema checked once."""
    schema = json.loads(schema_json)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _from_json(raw: str, index: int, tools: Sequence[ToolSchema]) -> ToolCall:
    call_id = f"call_{index}"
    try:
        loaded = json.loads(raw)
    except json.JSONDecodeError as exc:
        return ToolCall(id=call_id, name="", arguments_json=raw,
                        error=f"the tool call is not valid JSON ({exc.msg}): {_short(raw)}")
    if not isinstance(loaded, dict) or not isinstance(loaded.get("name"), str) or not loaded["name"]:
        return ToolCall(id=call_id, name="", arguments_json=raw,
                        error=f'a tool call must be {{"name": <tool name>, "arguments": {{...}}}}; got {_short(raw)}')
    arguments: Any = next((loaded[k] for k in ("arguments", "parameters") if k in loaded), {})
    if not isinstance(arguments, str | dict):
        return ToolCall(id=call_id, name=loaded["name"], arguments_json=json.dumps(arguments),
                        error=f"the arguments of {loaded['name']!r} must be a JSON object, got {_short(raw)}")
    return checked_call(call_id, loaded["name"], arguments, tools)


def _json_objects(body: str) -> list[str]:
    """The JSON objects in ``body`` one after another (``;`` or whitespace between); the rest as one raw piece."""
    decoder = json.JSONDecoder()
    found: list[str] = []
    at = 0
    while at < len(body):
        try:
            _, end = decoder.raw_decode(body, at)
        except json.JSONDecodeError:
            found.append(body[at:])
            break
        found.append(body[at:end])
        at = end
        while at < len(body) and body[at] in " \t\r\n;":
            at += 1
        if at < len(body) and body[at] != "{":
            break  # text after the calls is not another call
    return found


def _as_text(message: Message) -> Message:
    """A message for a template without tool support: calls as JSON text, results as a user turn."""
    if message.tool_calls:
        calls = "\n".join(json.dumps({"name": c.name, "arguments": c.arguments if c.arguments is not None
                                      else c.arguments_json}, ensure_ascii=False) for c in message.tool_calls)
        return Message(role="assistant", content="\n".join(p for p in (message.content, calls) if p))
    if message.role == "tool":
        label = f"Result of {message.name}" if message.name else "Tool result"
        return Message(role="user", content=f"{label}: {message.content}")
    return message


def _name_of(tool: ToolSchema) -> str:
    function = tool.get("function", tool)
    return str(function.get("name", "")) if isinstance(function, dict) else ""


def _parameters_of(tool: ToolSchema) -> dict[str, Any]:
    function = tool.get("function", tool)
    parameters = function.get("parameters") if isinstance(function, dict) else None
    return parameters if isinstance(parameters, dict) else {"type": "object"}


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
