"""The OpenAI wire format: request bodies, response parsing, SSE events, server errors.

Pure functions and values, no I/O: :mod:`promptlab.backends.openai` runs them
through :mod:`promptlab.backends._exchange`.

Servers agree on the OpenAI core (``temperature``, ``top_p``, ``max_tokens``, ``n``,
``seed``) and differ on the rest; a :class:`Dialect` says how one family spells the
extra knobs and where it tokenizes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from promptlab.backends._openai_constraints import constraint_fields
from promptlab.backends.base import FinishReason
from promptlab.config import GenerationConfig
from promptlab.errors import BackendError, ContextLengthError, ServerResponseError
from promptlab.safe_json import DEFAULT_JSON_LIMITS, JsonLimitError, JsonLimits, loads

Endpoint = Literal["completions", "chat"]


@dataclass(frozen=True)
class TokenizeRoute:
    """A tokenize endpoint, relative to the server root (the base URL without ``/v1``)."""

    path: str
    text_field: str
    sends_model: bool = False


@dataclass(frozen=True)
class Dialect:
    """How a server family names the knobs outside the OpenAI core."""

    name: str
    top_k: str | None = None
    """Parameter name for top-k; None: the server has none (the knob is rejected)."""
    top_k_disabled: int = 0
    """The value that turns top-k off, sent when ``top_k`` is None (servers default to 40 or 50)."""
    repetition_penalty: str | None = None
    min_p: str | None = None
    """Parameter name for min-p; None: the server has none (the knob is rejected)."""
    always: Mapping[str, Any] = field(default_factory=dict)
    """Sent with every request, to pin server defaults that would change decoding."""
    tokenize: tuple[TokenizeRoute, ...] = ()


DIALECTS: dict[str, Dialect] = {
    "openai": Dialect("openai"),
    "vllm": Dialect(
        "vllm",
        top_k="top_k",
        top_k_disabled=-1,
        repetition_penalty="repetition_penalty",
        min_p="min_p",
        tokenize=(TokenizeRoute("/tokenize", "prompt", sends_model=True),),
    ),
    "llama-cpp": Dialect(
        "llama-cpp",
        top_k="top_k",
        top_k_disabled=0,
        repetition_penalty="repeat_penalty",
        min_p="min_p",
        # llama-cpp-python's server defaults to min_p 0.05, top_k 40 and repeat_penalty 1.1 (all sent
        # from the config); typical_p is no GenerationConfig knob: pin it off.
        always={"typical_p": 1.0},
        tokenize=(TokenizeRoute("/extras/tokenize", "input"), TokenizeRoute("/tokenize", "content")),
    ),
}
DIALECTS["sglang"] = replace(DIALECTS["vllm"], name="sglang")  # the same knobs; constraints in other words


def request_body(
    endpoint: Endpoint,
    model: str,
    payload: str | list[dict[str, Any]],
    config: GenerationConfig,
    dialect: Dialect,
    *,
    n: int,
    seed: int | None,
    stream: bool,
    extra_body: Mapping[str, Any],
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: str | None = None,
) -> dict[str, Any]:
    """The JSON body of one completion request, every decoding knob explicit.

    Stop strings are never sent: the client applies them (see the module of the backend).
    ``tools`` and ``tool_choice`` (``"auto"`` by default, ``"none"``, ``"required"`` or a tool's
    name) go in the OpenAI ``tools`` / ``tool_choice`` fields.
    """
    body: dict[str, Any] = {"model": model, **dialect.always}
    body["messages" if endpoint == "chat" else "prompt"] = payload
    body.update(
        max_tokens=config.max_new_tokens,
        temperature=config.temperature if config.sampling else 0.0,
        top_p=config.top_p,
        n=n,
        stream=stream,
    )
    if seed is not None:
        body["seed"] = seed
    if dialect.top_k is not None:
        body[dialect.top_k] = config.top_k if config.top_k is not None else dialect.top_k_disabled
    if dialect.repetition_penalty is not None:
        body[dialect.repetition_penalty] = config.repetition_penalty
    if dialect.min_p is not None:
        body[dialect.min_p] = config.min_p
    if config.constraint is not None:
        body.update(constraint_fields(config.constraint, dialect.name, endpoint, "openai"))
    if stream:
        body["stream_options"] = {"include_usage": True}
    if tools:  # "auto" is spelled out: some servers (llama-cpp-python) ignore tools without a tool_choice
        choice = tool_choice or "auto"
        body["tools"] = list(tools)
        body["tool_choice"] = (choice if choice in ("auto", "none", "required")
                               else {"type": "function", "function": {"name": choice}})
    body.update(extra_body)
    return body


@dataclass(frozen=True)
class ToolCallPart:
    """A tool call as the server sent it, or one streamed delta of it (``index`` says which call)."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    """The arguments as sent: JSON text (a JSON object a server sent is written back as text)."""


@dataclass(frozen=True)
class Choice:
    """One choice of a response, as the server sent it."""

    index: int
    text: str
    finish_reason: str | None
    tool_calls: tuple[ToolCallPart, ...] = ()


@dataclass(frozen=True)
class ServerUsage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0


def parse_json(body: bytes, what: str, limits: JsonLimits = DEFAULT_JSON_LIMITS) -> Any:
    """Decode a JSON body within ``limits``, or raise :class:`ServerResponseError` saying what came instead."""
    try:
        return loads(body, limits)
    except JsonLimitError as exc:
        raise ServerResponseError(f"{what}: the body is not acceptable JSON ({exc}): {_preview(body)}") from None


def parse_completion(data: Any, endpoint: Endpoint, what: str) -> tuple[list[Choice], ServerUsage]:
    """Choices (ordered by index) and usage of a non-streamed response."""
    choices = _field(data, "choices", list, what)
    parsed = [_choice(item, endpoint, what, streamed=False) for item in choices]
    return sorted(parsed, key=lambda c: c.index), parse_usage(data.get("usage"))


def parse_event(
    line: str, endpoint: Endpoint, what: str, limits: JsonLimits = DEFAULT_JSON_LIMITS
) -> tuple[list[Choice], ServerUsage | None] | None:
    """One SSE line: None for keep-alives, comments and ``[DONE]``; else its choices and usage."""
    if not line.startswith("data:"):
        return None  # blank separators, ": ping" comments, "event:" names
    data = line[5:].strip()
    if data == "[DONE]" or not data:
        return None
    event = parse_json(data.encode("utf-8"), what, limits)
    if isinstance(event, dict) and "error" in event:
        raise ServerResponseError(f"{what}: the server failed mid-stream: {error_message(event)}")
    choices = _field(event, "choices", list, what)
    usage = parse_usage(event.get("usage")) if event.get("usage") else None
    return [_choice(item, endpoint, what, streamed=True) for item in choices], usage


def parse_usage(usage: Any) -> ServerUsage:
    if not isinstance(usage, dict):
        return ServerUsage()
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return ServerUsage(
        prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
        completion_tokens=_int_or_none(usage.get("completion_tokens")),
        cached_tokens=_int_or_none(cached) or 0,
    )


def finish_reason(server_reason: str | None) -> FinishReason:
    """Map the server's reason when no client-side stop fired: its "stop" is end of sequence."""
    return "length" if server_reason == "length" else "eos"


def parse_tokens(data: Any, what: str) -> int:
    """Token count from a tokenize response (``count`` or a ``tokens`` list)."""
    if isinstance(data, dict):
        if isinstance(data.get("count"), int):
            return int(data["count"])
        if isinstance(data.get("tokens"), list):
            return len(data["tokens"])
    raise ServerResponseError(f"{what}: expected 'tokens' or 'count' in {_preview(json.dumps(data).encode())}")


def parse_models(data: Any, what: str) -> str:
    """The first model id of a ``/v1/models`` listing."""
    models = _field(data, "data", list, what)
    if not models or not isinstance(models[0], dict) or not isinstance(models[0].get("id"), str):
        raise ServerResponseError(f"{what}: the server lists no models; pass model=... explicitly")
    return str(models[0]["id"])


def error_from_reply(status: int, body: bytes, what: str) -> BackendError:
    """The error for a non-success reply, carrying the server's own message."""
    try:
        message = error_message(loads(body))
    except JsonLimitError:
        message = _preview(body)
    lowered = message.lower()
    if status == 400 and ("context_length_exceeded" in lowered or "context length" in lowered
                          or "context window" in lowered):
        return ContextLengthError(f"{what}: the prompt does not fit the server's context window: {message}")
    return ServerResponseError(f"{what}: the server answered {status}: {message}", status_code=status)


def error_message(data: Any) -> str:
    """The human part of an error body in the shapes servers use (OpenAI, FastAPI, TGI)."""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            text = str(error.get("message", error))
            return f"{text} ({code})" if code else text
        for key in ("error", "detail", "message"):
            if key in data:
                value = data[key]
                return value if isinstance(value, str) else json.dumps(value)
    return _preview(json.dumps(data).encode())


def _choice(item: Any, endpoint: Endpoint, what: str, *, streamed: bool) -> Choice:
    if not isinstance(item, dict):
        raise ServerResponseError(f"{what}: a choice is not an object: {item!r}")
    calls: tuple[ToolCallPart, ...] = ()
    if endpoint == "chat":
        holder = item.get("delta" if streamed else "message") or {}
        text = holder.get("content") if isinstance(holder, dict) else None
        if isinstance(holder, dict) and isinstance(holder.get("tool_calls"), list):
            calls = tuple(_tool_call_part(part, position) for position, part in enumerate(holder["tool_calls"]))
    else:
        text = item.get("text")
    if text is not None and not isinstance(text, str):
        raise ServerResponseError(f"{what}: choice text is not a string: {text!r}")
    index = item.get("index", 0)
    return Choice(index if isinstance(index, int) else 0, text or "", item.get("finish_reason"), calls)


def _tool_call_part(part: Any, position: int) -> ToolCallPart:
    """One entry of ``tool_calls``, taken as sent: what is missing or malformed is left for the call's check."""
    if not isinstance(part, dict):
        return ToolCallPart(position, arguments=json.dumps(part, default=str))
    function: dict[str, Any] = part["function"] if isinstance(part.get("function"), dict) else {}
    arguments = function.get("arguments", "")
    index = part.get("index", position)
    return ToolCallPart(
        index=index if isinstance(index, int) and not isinstance(index, bool) else position,
        id=part["id"] if isinstance(part.get("id"), str) and part["id"] else None,
        name=function["name"] if isinstance(function.get("name"), str) else None,
        arguments=arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False),
    )


def _field(data: Any, name: str, kind: type, what: str) -> Any:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, kind):
        raise ServerResponseError(f"{what}: the response has no {name!r} {kind.__name__}: {_preview(data)}")
    return value


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _preview(body: Any, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else json.dumps(body, default=str)
    return repr(text if len(text) <= limit else text[:limit] + "...")
