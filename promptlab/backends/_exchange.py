"""Sans-I/O HTTP exchanges: write a protocol once, run it sync or async.

A *flow* is a generator that yields effects (:class:`Send`, :class:`OpenStream`,
:class:`ReadLine`, :class:`CloseStream`, :class:`Sleep`, :class:`Emit`) and receives
their results; transport failures (``httpx.RequestError``) are thrown into it at the
effect that failed. :func:`drive_http` runs a flow on an ``httpx.Client``,
:func:`adrive_http` on an ``httpx.AsyncClient``. Request building, retries, streaming and
parsing live in the flow, so the sync and async faces of a backend share all of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from promptlab.errors import BackendUnavailableError

T = TypeVar("T")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    json: Any = None


@dataclass(frozen=True)
class HttpReply:
    """A response's status and body (empty for a stream that opened successfully)."""

    status: int
    headers: httpx.Headers
    body: bytes


@dataclass(frozen=True)
class Send:
    """Send a request and read the whole body -> :class:`HttpReply`."""

    request: HttpRequest


@dataclass(frozen=True)
class OpenStream:
    """Send a request and keep the body open for :class:`ReadLine` -> :class:`HttpReply`."""

    request: HttpRequest


@dataclass(frozen=True)
class ReadLine:
    """The next line of the open stream -> ``str``, or ``None`` at its end."""


@dataclass(frozen=True)
class CloseStream:
    """Close the open stream (the server sees the client leave) -> ``None``."""


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Emit:
    """Text for the caller of a streaming call -> ``None``."""

    text: str


HttpEffect = Send | OpenStream | ReadLine | CloseStream | Sleep | Emit
HttpFlow = Generator[HttpEffect, Any, T]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``backoff * 2**attempt`` seconds, or the server's Retry-After; capped."""

    max_retries: int = 3
    backoff: float = 0.5
    max_delay: float = 10.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.max_delay)
            except ValueError:
                pass  # an HTTP date: fall back to our own schedule
        return min(self.backoff * 2.0**attempt, self.max_delay)


def request_with_retries(request: HttpRequest, policy: RetryPolicy, *, stream: bool = False) -> HttpFlow[HttpReply]:
    """Send ``request``, retrying connection errors, timeouts, 429 and 5xx.

    Returns the first reply that is not retryable (a success or a 4xx: the caller
    judges it); raises :class:`BackendUnavailableError` once retries are exhausted
    on a connection failure or an overloaded server. A 500 that persists is returned.
    """
    effect: HttpEffect = OpenStream(request) if stream else Send(request)
    for attempt in range(policy.max_retries + 1):
        last = attempt == policy.max_retries
        try:
            reply: HttpReply = yield effect
        except httpx.TransportError as exc:
            if last:
                raise BackendUnavailableError(
                    f"{request.method} {request.url} failed after {attempt + 1} attempts: {_describe(exc)}"
                ) from None
            yield Sleep(policy.delay(attempt))
            continue
        if reply.status not in RETRY_STATUSES:
            return reply
        if last:
            if reply.status in UNAVAILABLE_STATUSES:
                raise BackendUnavailableError(
                    f"{request.method} {request.url} answered {reply.status} after {attempt + 1} attempts: "
                    f"the server is overloaded or unavailable: {reply.body[:300].decode('utf-8', 'replace')}"
                )
            return reply
        yield Sleep(policy.delay(attempt, reply.headers.get("retry-after")))
    raise AssertionError("unreachable")  # pragma: no cover


def _describe(exc: httpx.TransportError) -> str:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
    detail = str(exc) or type(exc).__name__
    return f"{kind} ({detail})"


def drive_http(client: httpx.Client, flow: HttpFlow[T]) -> Generator[str, None, T]:
    """Run ``flow`` on a sync client; yields the text of :class:`Emit` effects, returns the flow's value."""
    response: httpx.Response | None = None
    lines: Iterator[str] = iter(())
    value: Any = None
    error: httpx.RequestError | None = None
    try:
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                if isinstance(effect, Emit):
                    yield effect.text
                elif isinstance(effect, Sleep):
                    time.sleep(effect.seconds)
                elif isinstance(effect, Send):
                    reply = client.request(effect.request.method, effect.request.url, json=effect.request.json)
                    value = HttpReply(reply.status_code, reply.headers, reply.content)
                elif isinstance(effect, OpenStream):
                    response = client.send(_build(client, effect.request), stream=True)
                    if response.is_success:
                        lines = response.iter_lines()
                        value = HttpReply(response.status_code, response.headers, b"")
                    else:
                        value = HttpReply(response.status_code, response.headers, response.read())
                        response.close()
                elif isinstance(effect, ReadLine):
                    value = next(lines, None)
                elif isinstance(effect, CloseStream) and response is not None:
                    response.close()
            except httpx.RequestError as exc:
                error = exc
    finally:
        if response is not None:
            response.close()
        flow.close()


async def adrive_http(client: httpx.AsyncClient, flow: HttpFlow[T]) -> T:
    """Run ``flow`` on an async client; :class:`Emit` effects are ignored."""
    response: httpx.Response | None = None
    lines: AsyncIterator[str] | None = None
    value: Any = None
    error: httpx.RequestError | None = None
    try:
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                if isinstance(effect, Sleep):
                    await asyncio.sleep(effect.seconds)
                elif isinstance(effect, Send):
                    reply = await client.request(effect.request.method, effect.request.url, json=effect.request.json)
                    value = HttpReply(reply.status_code, reply.headers, reply.content)
                elif isinstance(effect, OpenStream):
                    response = await client.send(_build(client, effect.request), stream=True)
                    if response.is_success:
                        lines = response.aiter_lines()
                        value = HttpReply(response.status_code, response.headers, b"")
                    else:
                        value = HttpReply(response.status_code, response.headers, await response.aread())
                        await response.aclose()
                elif isinstance(effect, ReadLine):
                    value = await anext(lines, None) if lines is not None else None
                elif isinstance(effect, CloseStream) and response is not None:
                    await response.aclose()
            except httpx.RequestError as exc:
                error = exc
    finally:
        if response is not None:
            await response.aclose()
        flow.close()


def _build(client: httpx.Client | httpx.AsyncClient, request: HttpRequest) -> httpx.Request:
    return client.build_request(request.method, request.url, json=request.json)
