"""OpenAIBackend: any OpenAI-compatible server (vLLM, TGI, SGLang, llama.cpp, OpenAI).

This is how promptlab scales past one machine: run the model behind vLLM or TGI
on GPUs and point this backend at it. Sync and async calls run the same flows
(:mod:`promptlab.backends._exchange`), so retries, streaming and parsing exist once.

Stop strings are applied by the client with the shared :mod:`promptlab.stopping`
code, never sent to the server: servers trim stops differently and most do not say
which stop fired. A call with stops is streamed and the stream is closed as soon
as a stop fires (the server then abandons the generation), so the text is trimmed
exactly as on the local backends and ``Completion.stop`` names the stop.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Generator, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from promptlab.backends._exchange import (
    CloseStream,
    Emit,
    HttpFailure,
    HttpFlow,
    HttpLimits,
    HttpReply,
    HttpRequest,
    ReadLine,
    RetryPolicy,
    adrive_http,
    drive_http,
    request_with_retries,
    translate,
)
from promptlab.backends._loop_clients import LoopClients
from promptlab.backends._openai_constraints import CARRIED
from promptlab.backends._openai_detect import dialect_from_models, probe_dialect
from promptlab.backends._openai_protocol import (
    DIALECTS,
    Choice,
    Dialect,
    Endpoint,
    ServerUsage,
    TokenizeRoute,
    ToolCallPart,
    error_from_reply,
    finish_reason,
    parse_completion,
    parse_event,
    parse_json,
    parse_models,
    parse_tokens,
    request_body,
)
from promptlab.backends.base import ALL_KNOBS, Backend, Capabilities, Completion, ToolChoice, Usage, with_tool_calls
from promptlab.backends.tool_calls import SYNTAXES, check_tool_format, checked_call
from promptlab.chat import Message, ToolSchema
from promptlab.config import GenerationConfig
from promptlab.constraints import ALL_CONSTRAINT_KINDS, JsonSchema
from promptlab.errors import (
    BackendClosedError,
    BackendError,
    BackendSpecError,
    BackendUnavailableError,
    ServerResponseError,
    UnsupportedKnobError,
)
from promptlab.stopping import StopMatcher

__all__ = ["HttpLimits", "OpenAIBackend", "Payload"]

Payload = str | list[dict[str, Any]]
T = TypeVar("T")


class OpenAIBackend(Backend):
    """A model served over the OpenAI HTTP API.

    ``base_url`` is the API root, e.g. ``http://127.0.0.1:8000/v1`` (``/v1`` is added
    when the URL has no path). ``model=None`` uses the first model the server lists.
    ``dialect`` names how the server spells knobs beyond the OpenAI core: ``"openai"``
    (no top_k / repetition_penalty / min_p), ``"vllm"``, ``"sglang"``, ``"llama-cpp"``
    (llama-cpp-python's and llama.cpp's servers); None asks the server at the first call
    (:mod:`promptlab.backends._openai_detect`). ``api_key`` defaults to the environment
    variable ``api_key_env`` (``OPENAI_API_KEY`` when not given; a variable named
    explicitly must be set), so keys need not be written in code or on a command line. ``use_chat=True`` sends
    :meth:`generate` prompts to ``/chat/completions`` as one user message, for
    chat-only servers. ``extra_body`` is merged into every request body.

    ``tool_format="auto"`` sends ``chat(tools=...)`` in the OpenAI ``tools`` fields (the server's
    template and parser must handle them); ``"json"`` describes the tools in the system message
    instead and, when a call is forced (``tool_choice="required"`` or a tool's name), constrains
    the reply to the tools' JSON schemas through the dialect's structured output: for servers
    whose tool parsing does not suit the model (a small model on ``llama-server`` writes prose
    before its call under llama.cpp's "required" grammar).

    Every call is bounded by ``limits`` (:class:`HttpLimits`: a total deadline, retries
    included, and caps on response bytes, streamed lines and JSON depth and numbers);
    ``timeout`` sets its per-read wait. A stream is also cut client-side after
    ``max_new_tokens`` text chunks per choice, whatever the server does.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        dialect: str | None = None,
        use_chat: bool = False,
        timeout: float | None = None,
        max_retries: int = 3,
        backoff: float = 0.5,
        extra_body: Mapping[str, Any] | None = None,
        chat_template: str | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        limits: HttpLimits | None = None,
        tool_format: str = "auto",
    ) -> None:
        if dialect is not None and dialect not in DIALECTS:
            raise BackendSpecError(f"unknown server dialect {dialect!r}; choose one of {sorted(DIALECTS)}")
        if tool_format not in ("auto", "json"):
            raise BackendSpecError(f"tool_format {tool_format!r} is not one a server can use; choose 'auto' (the "
                                   "server's own tool calls) or 'json' (JSON calls described in the system message)")
        self.tool_format = check_tool_format(tool_format)
        self.base_url = _api_root(base_url)
        self.model = model
        self._dialect: Dialect | None = None
        self._set_dialect(dialect)
        api_key = api_key or _key_from_environment(api_key_env)
        self._endpoint: Endpoint = "chat" if use_chat else "completions"
        self._extra_body = dict(extra_body or {})
        self._chat_template = chat_template
        self._retry = RetryPolicy(max_retries=max_retries, backoff=backoff)
        self._limits = limits or HttpLimits()
        if timeout is not None:
            self._limits = dataclasses.replace(self._limits, read_timeout_s=timeout)
        self._client_options: dict[str, Any] = {
            "timeout": httpx.Timeout(self._limits.read_timeout_s),
            # identity: a compressed body could inflate past the byte cap before it is counted
            "headers": {"Accept-Encoding": "identity"} | ({"Authorization": f"Bearer {api_key}"} if api_key else {}),
        }
        self._client = httpx.Client(
            **self._client_options, transport=transport if isinstance(transport, httpx.BaseTransport) else None
        )
        async_transport = transport if isinstance(transport, httpx.AsyncBaseTransport) else None
        self._async_clients = LoopClients(lambda: httpx.AsyncClient(**self._client_options, transport=async_transport))
        self._tokenize_route: TokenizeRoute | None = None
        self._one_choice_per_request = False
        """Set once the server answers fewer choices than ``n`` asked (llama.cpp ignores ``n``)."""

    @property
    def dialect(self) -> str | None:
        """The server dialect in use (None until the first call detects it)."""
        return self._dialect.name if self._dialect is not None else None

    def _set_dialect(self, name: str | None) -> None:
        """Use dialect ``name``; knobs it has no parameter for are refused from now on."""
        self._dialect = DIALECTS[name] if name is not None else None
        unsupported = {"num_beams"}
        if self._dialect is not None:
            spelled = {"top_k": self._dialect.top_k, "repetition_penalty": self._dialect.repetition_penalty,
                       "min_p": self._dialect.min_p}
            unsupported |= {knob for knob, parameter in spelled.items() if parameter is None}
        hint = f"the {name!r} server dialect has no such parameter; pass dialect='vllm' or 'llama-cpp' if yours has"
        self.capabilities = Capabilities(
            knobs=ALL_KNOBS - unsupported,
            streaming=True,
            concurrent=True,
            constraints=CARRIED[self._dialect.name] if self._dialect is not None else ALL_CONSTRAINT_KINDS,
            notes={"num_beams": "OpenAI-compatible servers do not do beam search; sample n completions instead",
                   "top_k": hint, "repetition_penalty": hint, "min_p": hint,
                   "constraint": f"the {name!r} server dialect cannot carry it; use dialect='vllm' if yours "
                                 "is vLLM, or a local backend (llamacpp, hf)"},
        )

    # ------------------------------------------------------------------ public API
    @property
    def chat_template(self) -> str:
        if self._chat_template is None:
            raise BackendError(
                "an OpenAI-compatible server applies its model's chat template itself: chat() sends the messages "
                "to /chat/completions; pass chat_template=... to OpenAIBackend to render prompts locally"
            )
        return self._chat_template

    @property
    def tool_calling(self) -> bool:
        """Servers take ``tools`` in the OpenAI fields (the server's chat format must support them)."""
        return True

    def _chat(
        self, messages: list[Message], config: GenerationConfig, tools: list[ToolSchema] | None, tool_choice: ToolChoice
    ) -> list[Completion]:
        """Send the messages (and tools) to ``/chat/completions``: the server applies the model's template."""
        if self._json_tools(tools):
            if tool_choice == "none":
                return self._chat(messages, config, None, None)
            return _json_calls(self._chat(*self._json_tool_request(messages, config, tools, tool_choice)), tools)
        flow = self._completion_flow("chat", _wire(messages), config, tools=_Tools(tools, tool_choice))
        return self._run(self._drive(flow))

    async def _achat(
        self, messages: list[Message], config: GenerationConfig, tools: list[ToolSchema] | None, tool_choice: ToolChoice
    ) -> list[Completion]:
        if self._json_tools(tools):
            if tool_choice == "none":
                return await self._achat(messages, config, None, None)
            return _json_calls(await self._achat(*self._json_tool_request(messages, config, tools, tool_choice)), tools)
        return await self._adrive(self._completion_flow("chat", _wire(messages), config,
                                                        tools=_Tools(tools, tool_choice)))

    def _json_tools(self, tools: list[ToolSchema] | None) -> bool:
        return self.tool_format == "json" and bool(tools)

    def _json_tool_request(
        self, messages: list[Message], config: GenerationConfig, tools: list[ToolSchema] | None, tool_choice: ToolChoice
    ) -> tuple[list[Message], GenerationConfig, None, None]:
        """A plain chat call: the tools described in the system message, a forced call constrained to their schemas."""
        tools = tools or []
        if tool_choice not in (None, "auto") and config.constraint is None:
            if self.dialect == "openai":
                raise UnsupportedKnobError(
                    self.name, "tool_format='json' with a forced call",
                    "the OpenAI API's strict JSON schemas cannot carry a tool call's schema (a union of tools, "
                    "optional arguments); use tool_format='auto', its own tool calls")
            config = config.with_overrides(constraint=JsonSchema.of(SYNTAXES["json"].call_schema(tools, tool_choice)))
        return SYNTAXES["json"].messages(messages, tools), config, None, None

    def _stream_chat(self, messages: list[Message], config: GenerationConfig) -> Iterator[str]:
        return _texts(self._drive(self._completion_flow("chat", _wire(messages), config, emit=True)))

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the server's tokenize endpoint (llama.cpp, vLLM); others raise."""
        self._ensure_open()
        return self._run(self._drive(self._count_flow(text)))

    def _close(self) -> None:
        self._client.close()
        self._async_clients.close()

    async def aclose(self) -> None:
        """Close every HTTP client: the running event loop's (awaited here), the sync one, those of other loops."""
        await self._async_clients.aclose_current()
        self.close()

    @property
    def async_clients(self) -> list[httpx.AsyncClient]:
        """The async HTTP clients opened so far, one per event loop (closed by :meth:`close`)."""
        return self._async_clients.clients

    # --------------------------------------------------------------- engine hooks
    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        return self._run(self._drive(self._completion_flow(self._endpoint, self._payload(prompt), config)))

    async def _agenerate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        flow = self._completion_flow(self._endpoint, self._payload(prompt), config)
        return await self._adrive(flow)

    def _stream(self, prompt: str, config: GenerationConfig) -> Iterator[str]:
        flow = self._completion_flow(self._endpoint, self._payload(prompt), config, emit=True)
        return _texts(self._drive(flow))

    # ----------------------------------------------------------------------- flows
    def _completion_flow(
        self, endpoint: Endpoint, payload: Payload, config: GenerationConfig, *, emit: bool = False,
        tools: _Tools | None = None,
    ) -> HttpFlow[list[Completion]]:
        """``config.n`` completions, in as many requests as the server needs (some ignore ``n``)."""
        model = yield from self._discover_flow()
        self.check_config(config)  # again: a detected dialect may lack a knob the config sets
        dialect = self._known_dialect()
        streamed = emit or bool(config.stop)
        completions: list[Completion] = []
        while len(completions) < config.n:
            want = 1 if self._one_choice_per_request else config.n - len(completions)
            seed = None if config.seed is None else config.seed + len(completions)
            body = request_body(endpoint, model, payload, config, dialect, n=want, seed=seed,
                                stream=streamed, extra_body=self._extra_body,
                                tools=tools.schemas if tools else None, tool_choice=tools.choice if tools else None)
            path = "/chat/completions" if endpoint == "chat" else "/completions"
            request = HttpRequest("POST", self.base_url + path, body)
            if streamed:
                batch = yield from self._streamed_flow(request, endpoint, payload, config, want, emit=emit, tools=tools)
            else:
                batch = yield from self._unary_flow(request, endpoint, tools)
            if len(batch) < want:
                self._one_choice_per_request = True
            completions.extend(batch[:want])
        if config.constraint is not None:  # servers ignore fields they do not know: never trust, check
            for completion in completions:
                config.constraint.verify(completion.text, complete=completion.finish_reason != "length",
                                         source=f"the server at {self.base_url}")
        return completions

    def _unary_flow(self, request: HttpRequest, endpoint: Endpoint, tools: _Tools | None
                    ) -> HttpFlow[list[Completion]]:
        started = time.perf_counter()
        what = _what(request)
        reply = yield from request_with_retries(request, self._retry)
        choices, usage = parse_completion(_json(reply, what, self._limits), endpoint, what)
        if not choices:
            raise BackendError(f"{what}: the server returned no choices")
        latency = time.perf_counter() - started
        shares = _split(usage.completion_tokens, len(choices))
        return [
            _with_calls(Completion(
                text=choice.text,
                finish_reason=finish_reason(choice.finish_reason),
                usage=Usage(prompt_tokens=usage.prompt_tokens or 0, completion_tokens=share,
                            cached_prompt_tokens=usage.cached_tokens),
                latency_s=latency,
            ), choice.tool_calls, tools)
            for choice, share in zip(choices, shares, strict=True)
        ]

    def _streamed_flow(
        self, request: HttpRequest, endpoint: Endpoint, payload: Payload, config: GenerationConfig, want: int,
        *, emit: bool, tools: _Tools | None = None,
    ) -> HttpFlow[list[Completion]]:
        """Read SSE events, stop each choice client-side; close the stream once every choice is done."""
        started = time.perf_counter()
        what = _what(request)
        reply = yield from request_with_retries(request, self._retry, stream=True)
        if not 200 <= reply.status < 300:
            raise error_from_reply(reply.status, reply.body, what)
        choices: dict[int, _ChoiceStream] = {}
        usage: ServerUsage | None = None
        while True:
            try:
                line: str | None = yield ReadLine()
            except HttpFailure as exc:
                raise translate(exc, f"{what}: the stream broke off") from None
            if line is None:
                break
            event = parse_event(line, endpoint, what, self._limits.json)
            if event is None:
                continue
            usage = event[1] or usage
            for choice in event[0]:
                stream = choices.setdefault(choice.index, _ChoiceStream(StopMatcher.of(config), config.max_new_tokens))
                text = stream.feed(choice)
                if emit and text:
                    yield Emit(text)
            streams = choices.values()
            if len(choices) > want:
                raise ServerResponseError(f"{what}: the server streamed more than the {want} choices asked for")
            if len(choices) >= want and all(c.done for c in streams) and any(c.cut for c in streams):
                break  # the server does not know we are done: leave now, it abandons the generation
        yield CloseStream()
        if not choices or any(not c.done for c in choices.values()):
            raise BackendUnavailableError(
                f"{what}: the stream ended before the server said why generation finished (llama-cpp-python's "
                "server cuts a stream when another request arrives unless started with --interrupt_requests False)"
            )
        prompt_tokens = usage.prompt_tokens if usage and usage.prompt_tokens is not None else None
        if prompt_tokens is None and isinstance(payload, str):
            prompt_tokens = yield from self._count_or_none(payload)
        latency = time.perf_counter() - started
        ordered = [choices[i] for i in sorted(choices)]
        # The server's count is exact but covers all choices, and is lost when we leave early.
        exact = usage.completion_tokens if usage and len(ordered) == 1 and not ordered[0].cut else None
        cached = usage.cached_tokens if usage else 0
        return [
            _with_calls(stream.completion(prompt_tokens or 0, stream.chunks if exact is None else exact, cached,
                                          latency), stream.tool_calls(), tools)
            for stream in ordered
        ]

    def _discover_flow(self) -> HttpFlow[str]:
        """The model name and the server's dialect, asked once; ``/v1/models`` tells both."""
        if self.model is None or self._dialect is None:
            request = HttpRequest("GET", self.base_url + "/models")
            reply = yield from request_with_retries(request, self._retry)
            if self.model is None:
                self.model = parse_models(_json(reply, _what(request), self._limits), _what(request))
            if self._dialect is None:
                ok = 200 <= reply.status < 300
                listing = parse_json(reply.body, _what(request), self._limits.json) if ok else None
                found = dialect_from_models(listing)
                if found is None:
                    found = yield from probe_dialect(self.base_url.removesuffix("/v1"), self._retry)
                self._set_dialect(found)
        return self.model

    def _known_dialect(self) -> Dialect:
        assert self._dialect is not None, "_discover_flow sets it"
        return self._dialect

    def _count_flow(self, text: str) -> HttpFlow[int]:
        if self._dialect is None:
            yield from self._discover_flow()
        dialect = self._known_dialect()
        routes = (self._tokenize_route,) if self._tokenize_route else dialect.tokenize
        for route in routes:
            body: dict[str, Any] = {route.text_field: text}
            if route.sends_model:
                body["model"] = yield from self._discover_flow()
            request = HttpRequest("POST", self.base_url.removesuffix("/v1") + route.path, body)
            reply = yield from request_with_retries(request, self._retry)
            if reply.status in (404, 405):
                continue
            count = parse_tokens(_json(reply, _what(request), self._limits), _what(request))
            self._tokenize_route = route
            return count
        raise UnsupportedKnobError(
            self.name, "count_tokens",
            f"the {dialect.name!r} dialect knows no tokenize endpoint on {self.base_url}"
            if not routes else f"{self.base_url} has none of the tokenize endpoints {[r.path for r in routes]}",
        )

    def _count_or_none(self, text: str) -> HttpFlow[int | None]:
        try:
            return (yield from self._count_flow(text))
        except BackendError:
            return None

    # --------------------------------------------------------------------- helpers
    def _drive(self, flow: HttpFlow[T]) -> Generator[str, None, T]:
        return drive_http(self._client, flow, self._limits)

    async def _adrive(self, flow: HttpFlow[T]) -> T:
        return await adrive_http(await self._async_clients.get(), flow, self._limits)

    def _payload(self, prompt: str) -> Payload:
        return [{"role": "user", "content": prompt}] if self._endpoint == "chat" else prompt

    def _run(self, driven: Generator[str, None, T]) -> T:
        """Drive a sync flow to its value; a client closed under a call in flight is :class:`BackendClosedError`."""
        try:
            return _run(driven)
        except RuntimeError:  # httpx: "Cannot send a request, as the client has been closed"
            if self.closed:
                raise BackendClosedError(f"the {self.name} backend was closed during the call") from None
            raise


class _ChoiceStream:
    """One choice of a streamed response, cut by the client's stop matcher or after ``max_tokens`` chunks."""

    def __init__(self, matcher: StopMatcher, max_tokens: int) -> None:
        self.matcher = matcher
        self.max_tokens = max_tokens
        self.parts: list[str] = []
        self.chunks = 0
        self.server_finish: str | None = None
        self.overrun = False
        """The server sent text past ``max_tokens`` (it ignored ``max_tokens``): cut as ``length``."""
        self.calls: dict[int, ToolCallPart] = {}
        """Tool calls streamed so far, by index: id and name from the first delta that has them, arguments joined."""

    @property
    def done(self) -> bool:
        return self.matcher.stopped or self.server_finish is not None

    @property
    def cut(self) -> bool:
        """Ended by the client, so the server is still generating."""
        return self.matcher.stopped or self.overrun

    def feed(self, choice: Choice) -> str:
        if self.done:
            return ""
        for part in choice.tool_calls:
            seen = self.calls.get(part.index)
            self.calls[part.index] = part if seen is None else dataclasses.replace(
                seen, id=seen.id or part.id, name=seen.name or part.name, arguments=seen.arguments + part.arguments)
        emitted = ""
        if choice.text and self.chunks >= self.max_tokens:
            self.overrun = True
            self.server_finish = "length"
            emitted = self.matcher.flush()
            self.parts.append(emitted)
            return emitted
        if choice.text:
            self.chunks += 1  # servers stream one token per event
            emitted = self.matcher.feed(choice.text)
        if choice.finish_reason is not None and not self.matcher.stopped:
            self.server_finish = choice.finish_reason
            emitted += self.matcher.flush()
        self.parts.append(emitted)
        return emitted

    def tool_calls(self) -> tuple[ToolCallPart, ...]:
        return tuple(self.calls[i] for i in sorted(self.calls))

    def completion(self, prompt_tokens: int, completion_tokens: int, cached: int, latency: float) -> Completion:
        return Completion(
            text="".join(self.parts),
            finish_reason="stop" if self.matcher.stopped else finish_reason(self.server_finish),
            stop=self.matcher.stop,
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cached_prompt_tokens=cached),
            latency_s=latency,
        )


def _key_from_environment(variable: str | None) -> str | None:
    """The API key in ``variable`` (which must then be set), else ``OPENAI_API_KEY`` if set."""
    if variable is None:
        return os.environ.get("OPENAI_API_KEY") or None
    key = os.environ.get(variable)
    if not key:
        raise BackendSpecError(f"api_key_env={variable!r} names an environment variable that is not set")
    return key


def _api_root(base_url: str) -> str:
    url = httpx.URL(base_url.rstrip("/"))
    if url.scheme not in ("http", "https") or not url.host:
        raise BackendSpecError(f"server URL {base_url!r} must look like http://HOST:PORT/v1")
    return str(url if url.path not in ("", "/") else url.copy_with(path="/v1"))


def _json(reply: HttpReply, what: str, limits: HttpLimits) -> Any:
    if not 200 <= reply.status < 300:
        raise error_from_reply(reply.status, reply.body, what)
    return parse_json(reply.body, what, limits.json)


def _what(request: HttpRequest) -> str:
    return f"{request.method} {request.url}"


def _wire(messages: list[Message]) -> list[dict[str, Any]]:
    """Messages in the OpenAI form: tool calls with their arguments as JSON text, tool results with their call id."""
    wired: list[dict[str, Any]] = []
    for message in messages:
        item: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.tool_calls:
            item["tool_calls"] = [
                {"id": call.id, "type": "function", "function": {
                    "name": call.name,
                    "arguments": call.arguments_json or json.dumps(call.arguments or {}, ensure_ascii=False)}}
                for call in message.tool_calls]
        if message.tool_call_id is not None:
            item["tool_call_id"] = message.tool_call_id
        if message.name is not None and message.role == "tool":
            item["name"] = message.name
        wired.append(item)
    return wired


@dataclasses.dataclass(frozen=True)
class _Tools:
    """The tools of a chat call and its ``tool_choice``."""

    schemas: list[ToolSchema] | None
    choice: ToolChoice


def _json_calls(replies: list[Completion], tools: list[ToolSchema] | None) -> list[Completion]:
    """Replies with the JSON tool calls in their text parsed out and checked against ``tools``."""
    return [with_tool_calls(c, *SYNTAXES["json"].parse(c.text, tools or [])) for c in replies]


def _with_calls(completion: Completion, parts: tuple[ToolCallPart, ...], tools: _Tools | None) -> Completion:
    """A completion with the server's tool calls checked against the tools sent (each problem in ``error``)."""
    if not parts:
        return completion
    calls = []
    for number, part in enumerate(parts):
        call = checked_call(part.id or f"call_{number}", part.name or "", part.arguments,
                            tools.schemas or [] if tools else [])
        if part.id is None:
            problem = f"the server sent this tool call without an id (it is called {call.id} here)"
            call = call.model_copy(update={"error": f"{problem}; {call.error}" if call.error else problem})
        calls.append(call)
    return with_tool_calls(completion, completion.text, tuple(calls))


def _split(total: int | None, parts: int) -> list[int]:
    """Spread a response's completion tokens over its choices (servers report only the sum)."""
    if total is None:
        return [0] * parts
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _run(driven: Generator[str, None, T]) -> T:
    while True:
        try:
            next(driven)
        except StopIteration as done:
            result: T = done.value
            return result


def _texts(driven: Generator[str, None, list[Completion]]) -> Iterator[str]:
    yield from driven
