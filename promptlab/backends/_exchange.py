"""Sans-I/O HTTP exchanges: write a protocol once, run it sync or async, within bounds.

A *flow* is a generator that yields effects (:class:`Send`, :class:`OpenStream`,
:class:`ReadLine`, :class:`CloseStream`, :class:`Sleep`, :class:`Emit`) and receives
their results; httpx's exceptions (:data:`HttpFailure`) are thrown into it at the effect
that failed and translated there (:func:`translate`). :func:`drive_http` runs a flow on an ``httpx.Client``,
:func:`adrive_http` on an ``httpx.AsyncClient``. Request building, retries, streaming and
parsing live in the flow, so the sync and async faces of a backend share all of it.

Every drive is bounded by :class:`HttpLimits`: one total deadline for the whole call
(retries and their back-off included, a server dripping one byte a second included),
a cap on the bytes of every response (streamed or not) and on the length of one
streamed line. Past the deadline the call raises :class:`BackendUnavailableError`;
past a size cap, :class:`ServerResponseError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from promptlab.errors import BackendError, BackendUnavailableError, ServerResponseError
from promptlab.safe_json import JsonLimits

T = TypeVar("T")


@dataclass(frozen=True)
class HttpLimits:
    """Bounds on one call to a server (see docs/backends.md)."""

    deadline_s: float = 300.0
    """Total time of one call: every attempt, back-off and body read together."""
    read_timeout_s: float = 60.0
    """Longest wait for the connection or the next bytes of a response."""
    max_response_bytes: int = 32 * 1024 * 1024
    """Bytes of one response body, streamed or not."""
    max_line_bytes: int = 1024 * 1024
    """Bytes of one line of a streamed (SSE) response."""
    json: JsonLimits = field(default_factory=JsonLimits)
    """Nesting depth and number size of a JSON body."""


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

HttpFailure = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict)
"""Every exception httpx raises: thrown into the flow at the effect that failed."""

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
        except HttpFailure as exc:  # not worth retrying: a body that does not decode, a redirect loop
            raise translate(exc, f"{request.method} {request.url}") from None
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


def translate(exc: Exception, what: str) -> BackendError:
    """The promptlab error for an httpx exception: transport trouble is retryable, the rest is the server's."""
    if isinstance(exc, httpx.TransportError):
        return BackendUnavailableError(f"{what}: {_describe(exc)}")
    detail = str(exc) or type(exc).__name__
    return ServerResponseError(f"{what}: the response could not be read ({type(exc).__name__}: {detail})")


def _describe(exc: httpx.TransportError) -> str:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
    detail = str(exc) or type(exc).__name__
    return f"{kind} ({detail})"


class _Bounds:
    """The deadline and byte caps of one drive, and the errors for breaking them."""

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.deadline_s
        self.what = "the request"

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.late()
        return left

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(min(self.limits.read_timeout_s, self.remaining()))

    def late(self) -> BackendUnavailableError:
        return BackendUnavailableError(
            f"{self.what} did not finish within {self.limits.deadline_s:g} s "
            "(HttpLimits.deadline_s; the server is too slow or stalled)"
        )

    def too_big(self, what: str, limit: int, knob: str) -> ServerResponseError:
        return ServerResponseError(f"{self.what}: {what} is larger than {limit:,} bytes (HttpLimits.{knob})")

    def body(self, chunks: Iterator[bytes]) -> bytes:
        parts: list[bytes] = []
        total = 0
        for chunk in chunks:
            total += len(chunk)
            if total > self.limits.max_response_bytes:
                raise self.too_big("the response", self.limits.max_response_bytes, "max_response_bytes")
            parts.append(chunk)
            self.remaining()
        return b"".join(parts)

    def lines(self, chunks: Iterator[bytes]) -> Iterator[str]:
        """Lines of a streamed body, each and all of them capped."""
        splitter = _LineSplitter(self)
        for chunk in chunks:
            yield from splitter.feed(chunk)
            self.remaining()
        yield from splitter.finish()


class _LineSplitter:
    """Splits streamed bytes into lines (``\n``, ``\r\n`` or ``\r``) within the byte caps."""

    def __init__(self, bounds: _Bounds) -> None:
        self._bounds = bounds
        self._parts: list[bytes] = []
        self._size = 0
        self._total = 0

    def feed(self, chunk: bytes) -> list[str]:
        limits = self._bounds.limits
        self._total += len(chunk)
        if self._total > limits.max_response_bytes:
            raise self._bounds.too_big("the stream", limits.max_response_bytes, "max_response_bytes")
        lines: list[bytes] = []
        if b"\n" in chunk or b"\r" in chunk:
            *lines, rest = b"".join([*self._parts, chunk]).replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            self._parts, self._size = [rest], len(rest)
        else:  # no line ends here: keep the piece, join once the line is complete
            self._parts.append(chunk)
            self._size += len(chunk)
        if self._size > limits.max_line_bytes:
            raise self._bounds.too_big("one line of the stream", limits.max_line_bytes, "max_line_bytes")
        return [line.decode("utf-8", "replace") for line in lines]

    def finish(self) -> list[str]:
        rest = b"".join(self._parts)
        return [rest.decode("utf-8", "replace")] if rest else []


class _Watchdog:
    """Shuts a response's socket at the deadline, so a blocked sync read ends then (not a read timeout later)."""

    def __init__(self) -> None:
        self._timer: threading.Timer | None = None

    def arm(self, response: httpx.Response, deadline: float) -> None:
        self.disarm()
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), _shutdown, (sock,))
            self._timer.daemon = True
            self._timer.start()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def drive_http(client: httpx.Client, flow: HttpFlow[T], limits: HttpLimits | None = None) -> Generator[str, None, T]:
    """Run ``flow`` on a sync client; yields the text of :class:`Emit` effects, returns the flow's value."""
    bounds = _Bounds(limits or HttpLimits())
    watchdog = _Watchdog()
    response: httpx.Response | None = None
    lines: Iterator[str] = iter(())
    value: Any = None
    error: Exception | None = None
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
                    if effect.seconds >= bounds.remaining():
                        raise bounds.late()
                    time.sleep(effect.seconds)
                elif isinstance(effect, Send | OpenStream):
                    bounds.what = f"{effect.request.method} {effect.request.url}"
                    response = client.send(_build(client, effect.request, bounds), stream=True)
                    watchdog.arm(response, bounds.deadline)
                    if isinstance(effect, OpenStream) and response.is_success:
                        lines = bounds.lines(response.iter_bytes())
                        value = HttpReply(response.status_code, response.headers, b"")
                    else:
                        value = HttpReply(response.status_code, response.headers, bounds.body(response.iter_bytes()))
                        watchdog.disarm()
                        response.close()
                elif isinstance(effect, ReadLine):
                    value = next(lines, None)
                elif isinstance(effect, CloseStream) and response is not None:
                    watchdog.disarm()
                    response.close()
            except HttpFailure as exc:
                if time.monotonic() >= bounds.deadline:
                    raise bounds.late() from None
                error = exc
    finally:
        watchdog.disarm()
        if response is not None:
            response.close()
        flow.close()


async def adrive_http(client: httpx.AsyncClient, flow: HttpFlow[T], limits: HttpLimits | None = None) -> T:
    """Run ``flow`` on an async client; :class:`Emit` effects are ignored."""
    bounds = _Bounds(limits or HttpLimits())
    response: httpx.Response | None = None
    lines: AsyncIterator[str] | None = None
    value: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                async with asyncio.timeout(bounds.remaining()):
                    if isinstance(effect, Sleep):
                        await asyncio.sleep(effect.seconds)
                    elif isinstance(effect, Send | OpenStream):
                        bounds.what = f"{effect.request.method} {effect.request.url}"
                        response = await client.send(_build(client, effect.request, bounds), stream=True)
                        if isinstance(effect, OpenStream) and response.is_success:
                            lines = _alines(bounds, response.aiter_bytes())
                            value = HttpReply(response.status_code, response.headers, b"")
                        else:
                            body = await _abody(bounds, response.aiter_bytes())
                            value = HttpReply(response.status_code, response.headers, body)
                            await response.aclose()
                    elif isinstance(effect, ReadLine):
                        value = await anext(lines, None) if lines is not None else None
                    elif isinstance(effect, CloseStream) and response is not None:
                        await response.aclose()
            except TimeoutError:
                raise bounds.late() from None
            except HttpFailure as exc:
                if time.monotonic() >= bounds.deadline:
                    raise bounds.late() from None
                error = exc
    finally:
        if response is not None:
            await response.aclose()
        flow.close()


async def _abody(bounds: _Bounds, chunks: AsyncIterator[bytes]) -> bytes:
    parts: list[bytes] = []
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > bounds.limits.max_response_bytes:
            raise bounds.too_big("the response", bounds.limits.max_response_bytes, "max_response_bytes")
        parts.append(chunk)
    return b"".join(parts)


async def _alines(bounds: _Bounds, chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    splitter = _LineSplitter(bounds)
    async for chunk in chunks:
        for line in splitter.feed(chunk):
            yield line
    for line in splitter.finish():
        yield line


def _build(client: httpx.Client | httpx.AsyncClient, request: HttpRequest, bounds: _Bounds) -> httpx.Request:
    return client.build_request(request.method, request.url, json=request.json, timeout=bounds.timeout())
