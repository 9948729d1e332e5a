"""A scripted OpenAI-compatible server on httpx.MockTransport, for fault and protocol tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

Handler = Callable[[httpx.Request], httpx.Response]
PROBE_PATHS = ("/props", "/version", "/openapi.json")


def completion(*texts: str, finish: str = "stop", prompt_tokens: int = 5, completion_tokens: int = 3) -> dict[str, Any]:
    """A /v1/completions response body with one choice per text."""
    return {
        "object": "text_completion",
        "choices": [{"index": i, "text": t, "finish_reason": finish} for i, t in enumerate(texts)],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    }


def sse(*events: dict[str, Any] | str) -> bytes:
    """An SSE body: each event as a ``data:`` line, then ``[DONE]``."""
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    return ("".join(lines) + "data: [DONE]\n\n").encode()


def chunk(text: str, finish: str | None = None, index: int = 0) -> dict[str, Any]:
    return {"choices": [{"index": index, "text": text, "finish_reason": finish}]}


class FakeServer:
    """Answers /v1/models itself and every other request from a script, recording requests.

    ``script`` items are responses, or callables taking the request (to inspect it
    or raise a transport error such as ``httpx.ConnectError``); the last item repeats.
    """

    def __init__(
        self, *script: httpx.Response | Handler, models: tuple[str, ...] = ("fake-model",), owned_by: str = "someone",
        probes: dict[str, Any] | None = None,
    ) -> None:
        self.script = list(script)
        self.models = models
        self.owned_by = owned_by
        self.probes = probes or {}
        """Answers to the dialect probes (``/props``, ``/version``, ``/openapi.json``); others are 404."""
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """JSON bodies of the POST requests, in order."""
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/models"):
            listing = [{"id": m, "owned_by": self.owned_by} for m in self.models]
            return httpx.Response(200, json={"object": "list", "data": listing})
        if request.method == "GET" and request.url.path in PROBE_PATHS:
            answer = self.probes.get(request.url.path)
            return httpx.Response(200, json=answer) if answer is not None else httpx.Response(404)
        step = self.script[0] if len(self.script) == 1 else self.script.pop(0)
        return step(request) if callable(step) else step


def streaming(events: list[bytes], consumed: list[int]) -> httpx.Response:
    """A streamed SSE response whose body records how many events the client pulled."""

    def body() -> Iterator[bytes]:
        for event in events:
            consumed.append(1)
            yield event

    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())
