"""OpenAIBackend against scripted servers: wire format, faults, retries, streaming, n, async."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from promptlab.backends.openai import OpenAIBackend
from promptlab.errors import (
    BackendClosedError,
    BackendError,
    BackendSpecError,
    BackendUnavailableError,
    ContextLengthError,
    ServerResponseError,
    UnsupportedKnobError,
)
from tests.backends.fake_openai import FakeServer, chunk, completion, sse, streaming

URL = "http://fake.test/v1"


def backend(server: FakeServer, **options: object) -> OpenAIBackend:
    """A backend on ``server``; the strict ``openai`` dialect unless the test names one (or None: detect)."""
    options.setdefault("dialect", "openai")
    return OpenAIBackend(URL, transport=server.transport, backoff=0.0, **options)  # type: ignore[arg-type]


def test_every_knob_is_sent_explicitly_in_the_llama_cpp_dialect() -> None:
    server = FakeServer(httpx.Response(200, json=completion(" Paris")))
    llm = backend(server, dialect="llama-cpp")
    result = llm.complete("The capital of France is", max_new_tokens=7, top_p=0.9, repetition_penalty=1.2)
    assert result.text == " Paris"
    assert result.finish_reason == "eos"
    assert result.usage.prompt_tokens == 5 and result.usage.completion_tokens == 3
    body = server.bodies[0]
    assert body["model"] == "fake-model"  # discovered from /v1/models
    assert body["prompt"] == "The capital of France is"
    assert body["max_tokens"] == 7 and body["temperature"] == 0.0 and body["top_p"] == 0.9
    assert body["repeat_penalty"] == 1.2 and body["top_k"] == 0 and body["min_p"] == 0.0
    assert "stop" not in body and body["stream"] is False


def test_vllm_dialect_names_knobs_its_way_and_extra_body_is_merged() -> None:
    server = FakeServer(httpx.Response(200, json=completion("x")))
    llm = backend(server, dialect="vllm", model="big", extra_body={"ignore_eos": True})
    llm.complete("hi", top_k=5, repetition_penalty=1.1, temperature=0.7, seed=3, min_p=0.1)
    body = server.bodies[0]
    assert body["min_p"] == 0.1
    assert body["top_k"] == 5 and body["repetition_penalty"] == 1.1 and body["seed"] == 3
    assert body["model"] == "big" and body["ignore_eos"] is True
    assert "/v1/models" not in server.paths  # an explicit model needs no discovery


def test_openai_dialect_rejects_knobs_it_has_no_parameter_for() -> None:
    llm = backend(FakeServer(httpx.Response(200, json=completion("x"))))
    with pytest.raises(UnsupportedKnobError, match=r"top_k.*dialect"):
        llm.generate("hi", top_k=5)
    with pytest.raises(UnsupportedKnobError, match="num_beams"):
        llm.generate("hi", num_beams=2)
    with pytest.raises(UnsupportedKnobError, match=r"min_p.*dialect"):
        llm.generate("hi", min_p=0.1, temperature=0.7)


def test_min_p_reaches_the_llama_cpp_server() -> None:
    server = FakeServer(httpx.Response(200, json=completion("x")))
    backend(server, dialect="llama-cpp").complete("hi", temperature=0.7, min_p=0.05)
    assert server.bodies[0]["min_p"] == 0.05


def test_429_then_success_is_retried() -> None:
    server = FakeServer(
        httpx.Response(429, json={"error": {"message": "slow down"}}), httpx.Response(200, json=completion("ok"))
    )
    assert backend(server).complete("hi").text == "ok"
    assert server.paths.count("/v1/completions") == 2


def test_retry_after_header_sets_the_delay() -> None:
    server = FakeServer(httpx.Response(503, headers={"retry-after": "0.3"}), httpx.Response(200, json=completion("ok")))
    started = time.perf_counter()
    backend(server).complete("hi")
    assert time.perf_counter() - started >= 0.3


def test_persistent_500_raises_server_error_with_status_after_retries() -> None:
    server = FakeServer(httpx.Response(500, text="boom"))
    with pytest.raises(ServerResponseError, match=r"500.*boom") as info:
        backend(server, max_retries=2).complete("hi")
    assert info.value.status_code == 500
    assert server.paths.count("/v1/completions") == 3


def test_persistent_503_is_unavailable_and_retryable() -> None:
    server = FakeServer(httpx.Response(503, text="overloaded"))
    with pytest.raises(BackendUnavailableError, match="503") as info:
        backend(server, max_retries=1).complete("hi")
    assert info.value.retryable


def test_4xx_carries_the_server_message_and_is_not_retried() -> None:
    server = FakeServer(httpx.Response(404, json={"error": {"message": "model 'x' not found", "code": "no_model"}}))
    with pytest.raises(ServerResponseError, match="404: model 'x' not found") as info:
        backend(server).complete("hi")
    assert info.value.status_code == 404
    assert server.paths.count("/v1/completions") == 1


def test_context_overflow_becomes_context_length_error() -> None:
    message = "This model's maximum context length is 2048 tokens. However, you requested 3000 tokens"
    server = FakeServer(httpx.Response(400, json={"error": {"message": message, "code": "context_length_exceeded"}}))
    with pytest.raises(ContextLengthError, match="maximum context length"):
        backend(server).complete("hi")


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json={"unexpected": True}),
        httpx.Response(200, json={"choices": [{"index": 0, "text": 42}]}),
    ],
    ids=["not-json", "no-choices", "bad-text"],
)
def test_garbage_bodies_raise_server_response_error(reply: httpx.Response) -> None:
    with pytest.raises(ServerResponseError):
        backend(FakeServer(reply)).complete("hi")


def test_connection_errors_are_retried_then_reported_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    server = FakeServer(refuse)
    with pytest.raises(BackendUnavailableError, match=r"after 3 attempts.*connection failed"):
        backend(server, model="m", max_retries=2).complete("hi")
    assert len(server.requests) == 3


def test_a_timeout_then_success_is_retried() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    server = FakeServer(slow, httpx.Response(200, json=completion("late")))
    assert backend(server, model="m").complete("hi").text == "late"


def test_a_server_that_is_down_fails_fast_and_clearly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket closes
    llm = OpenAIBackend(f"http://127.0.0.1:{port}/v1", model="m", max_retries=1, backoff=0.0, timeout=2)
    with pytest.raises(BackendUnavailableError, match=f"127.0.0.1:{port}.*connection failed"):
        llm.complete("hi")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_server_that_never_answers_times_out(silent_server: str) -> None:
    llm = OpenAIBackend(silent_server, model="m", timeout=0.2, max_retries=1, backoff=0.0)
    started = time.perf_counter()
    with pytest.raises(BackendUnavailableError, match="timed out"):
        llm.complete("hi")
    assert time.perf_counter() - started < 5


def test_stops_are_applied_client_side_across_chunks_and_the_stream_is_left_early() -> None:
    events = [sse(chunk(" Thought")), sse(chunk(": look\nObs")), sse(chunk("ervation: x")), sse(chunk(" more"))]
    consumed: list[int] = []
    server = FakeServer(lambda request: streaming([e.replace(b"data: [DONE]\n\n", b"") for e in events], consumed))
    result = backend(server).complete("q", stop=["\nObservation:"])
    assert result.text == " Thought: look"
    assert result.finish_reason == "stop" and result.stop == "\nObservation:"
    assert result.usage.completion_tokens == 3  # the chunks read up to the stop
    assert len(consumed) == 3  # the fourth event was never pulled
    body = server.bodies[0]
    assert body["stream"] is True and "stop" not in body


def test_streamed_finish_without_stop_reads_server_usage() -> None:
    usage = {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2}}
    server = FakeServer(httpx.Response(200, content=sse(chunk("a"), chunk("b", finish="length"), usage)))
    result = backend(server).complete("q", stop=["zzz"])
    assert (result.text, result.finish_reason, result.stop) == ("ab", "length", None)
    assert result.usage.prompt_tokens == 4 and result.usage.completion_tokens == 2


def test_stream_yields_text_and_holds_back_partial_stops() -> None:
    body = sse(chunk("Hello"), chunk(" wor"), chunk("ld. ST"), chunk("OP and on"), chunk("", finish="stop"))
    server = FakeServer(httpx.Response(200, content=body))
    pieces = list(backend(server).stream("q", stop=["STOP"]))
    assert "".join(pieces) == "Hello world. "
    assert pieces[-1] == "ld. "  # " ST" was held back until it proved to be a stop


def test_a_mid_stream_error_event_raises() -> None:
    body = sse(chunk("a"), {"error": {"message": "engine crashed"}})
    with pytest.raises(ServerResponseError, match="engine crashed"):
        backend(FakeServer(httpx.Response(200, content=body))).complete("q", stop=["x"])


def test_a_stream_cut_before_finish_is_an_error() -> None:
    body = b'data: {"choices": [{"index": 0, "text": "a", "finish_reason": null}]}\n\n'
    with pytest.raises(BackendUnavailableError, match="ended before"):
        backend(FakeServer(httpx.Response(200, content=body))).complete("q", stop=["x"])


def test_n_samples_in_one_response_when_the_server_honours_n() -> None:
    server = FakeServer(httpx.Response(200, json=completion("a", "b", "c", completion_tokens=7)))
    results = backend(server).generate("q", n=3, temperature=0.8, seed=11)
    assert [r.text for r in results] == ["a", "b", "c"]
    assert sum(r.usage.completion_tokens for r in results) == 7
    assert server.bodies[0]["n"] == 3 and server.bodies[0]["seed"] == 11
    assert len(server.bodies) == 1


def test_n_samples_are_filled_by_more_requests_when_the_server_ignores_n() -> None:
    server = FakeServer(lambda request: httpx.Response(200, json=completion(f"s{len(server.bodies)}")))
    llm = backend(server)
    results = llm.generate("q", n=3, temperature=0.8, seed=11)
    assert [r.text for r in results] == ["s1", "s2", "s3"]
    assert [b["seed"] for b in server.bodies] == [11, 12, 13]  # distinct, reproducible samples
    assert [b["n"] for b in server.bodies] == [3, 1, 1]
    llm.generate("q", n=2, temperature=0.8)
    assert [b["n"] for b in server.bodies[3:]] == [1, 1]  # remembered: ask one at a time


def test_chat_sends_messages_to_the_chat_endpoint() -> None:
    reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}]}
    server = FakeServer(httpx.Response(200, json=reply))
    llm = backend(server)
    result = llm.chat([{"role": "user", "content": "Hello"}])[0]
    assert result.text == "Hi!"
    assert server.requests[-1].url.path == "/v1/chat/completions"
    assert server.bodies[0]["messages"] == [{"role": "user", "content": "Hello"}]
    with pytest.raises(BackendError, match="applies its model's chat template"):
        llm.format_chat([{"role": "user", "content": "Hello"}])


def test_use_chat_routes_plain_prompts_through_the_chat_endpoint() -> None:
    reply = {"choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "length"}]}
    server = FakeServer(httpx.Response(200, json=reply))
    assert backend(server, use_chat=True).complete("hi").finish_reason == "length"
    assert server.bodies[0]["messages"] == [{"role": "user", "content": "hi"}]


def test_count_tokens_finds_the_tokenize_endpoint_of_the_dialect() -> None:
    def tokenize(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/extras/tokenize":
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json={"tokens": [1, 2, 3]})

    server = FakeServer(tokenize)
    llm = backend(server, dialect="llama-cpp")
    assert llm.count_tokens("a b c") == 3
    assert server.paths == ["/extras/tokenize", "/tokenize"]
    assert llm.count_tokens("x") == 3
    assert server.paths[-1] == "/tokenize"  # the working route is remembered
    with pytest.raises(UnsupportedKnobError, match="count_tokens"):
        backend(server).count_tokens("x")


def test_cached_prompt_tokens_are_read_from_prompt_tokens_details() -> None:
    body = completion("x")
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": 4}
    assert backend(FakeServer(httpx.Response(200, json=body))).complete("q").usage.cached_prompt_tokens == 4


def test_async_calls_share_the_sync_implementation() -> None:
    server = FakeServer(
        httpx.Response(429), httpx.Response(200, content=sse(chunk("a\nQ"), chunk(": next"), chunk("", "stop")))
    )
    llm = backend(server, model="m")

    async def main() -> list[str]:
        first = await llm.agenerate("q", stop=["\nQ:"])
        rest = await llm.agenerate_batch(["a", "b"], stop=["\nQ:"])
        return [first[0].text, *(r[0].text for r in rest)]

    assert asyncio.run(main()) == ["a", "a", "a"]
    assert server.paths.count("/v1/completions") == 4  # one 429 retried, then three calls


def test_base_url_is_normalised_and_validated() -> None:
    assert OpenAIBackend("http://127.0.0.1:8000").base_url == "http://127.0.0.1:8000/v1"
    assert OpenAIBackend("http://h:1/openai/v1/").base_url == "http://h:1/openai/v1"
    with pytest.raises(BackendSpecError, match="HOST:PORT"):
        OpenAIBackend("127.0.0.1:8000")
    with pytest.raises(BackendSpecError, match="dialect"):
        OpenAIBackend("http://h:1/v1", dialect="tgi-ish")


def test_load_backend_builds_it_from_a_spec_without_touching_the_network() -> None:
    from promptlab.backends import load_backend

    llm = load_backend("openai:http://127.0.0.1:9/v1", dialect="vllm", model="m")
    assert isinstance(llm, OpenAIBackend) and "top_k" in llm.capabilities.knobs


@pytest.mark.parametrize(
    ("owner", "probes", "dialect"),
    [
        ("vllm", {}, "vllm"),
        ("sglang", {}, "sglang"),
        ("llamacpp", {}, "llama-cpp"),
        ("me", {"/props": {"default_generation_settings": {}, "total_slots": 1}}, "llama-cpp"),
        ("me", {"/version": {"version": "0.9.1"}}, "vllm"),
        ("me", {"/openapi.json": {"info": {"title": "🦙 llama.cpp Python API"}}}, "llama-cpp"),
        ("openai", {}, "openai"),
    ],
)
def test_the_dialect_is_detected_from_the_server(owner: str, probes: dict[str, object], dialect: str) -> None:
    server = FakeServer(httpx.Response(200, json=completion("x")), owned_by=owner, probes=probes)
    llm = backend(server, dialect=None)
    assert llm.dialect is None
    llm.complete("hi")
    assert llm.dialect == dialect
    llm.complete("again")
    assert server.paths.count("/v1/models") == 1  # asked once


def test_after_detection_every_knob_is_sent_in_the_servers_spelling() -> None:
    server = FakeServer(httpx.Response(200, json=completion("x")), owned_by="llamacpp")
    backend(server, dialect=None).complete("hi", max_new_tokens=9, min_p=0.1)
    body = server.bodies[0]
    assert body["top_k"] == 0 and body["repeat_penalty"] == 1.0 and body["min_p"] == 0.1
    assert body["top_p"] == 1.0 and body["temperature"] == 0.0 and body["typical_p"] == 1.0


def test_a_knob_the_detected_dialect_lacks_is_refused_before_generating() -> None:
    server = FakeServer(httpx.Response(200, json=completion("x")))
    llm = backend(server, dialect=None)
    with pytest.raises(UnsupportedKnobError, match=r"top_k.*'openai' server dialect"):
        llm.complete("hi", top_k=5)
    assert "/v1/completions" not in server.paths
    with pytest.raises(UnsupportedKnobError, match="min_p"):  # now refused up front
        llm.complete("hi", min_p=0.2)


def test_close_closes_the_async_clients_of_every_event_loop() -> None:
    server = FakeServer(httpx.Response(200, json=completion("x")))
    llm = OpenAIBackend(URL, transport=AsyncOnly(server.transport), dialect="openai")
    clients: list[httpx.AsyncClient] = []
    for _ in range(2):
        assert asyncio.run(llm.agenerate("hi"))[0].text == "x"
        clients += llm.async_clients
    loop = asyncio.new_event_loop()
    loop.run_until_complete(llm.agenerate("hi"))  # a loop left open: close() must close its client
    clients.append(llm.async_clients[-1])
    assert len(set(map(id, clients))) == 3
    assert [c.is_closed for c in clients] == [True, True, False]  # asyncio.run closed its loop's client
    llm.close()
    assert all(client.is_closed for client in clients)
    loop.close()


def test_aclose_closes_the_running_loops_client_and_later_calls_raise() -> None:
    server = FakeServer(httpx.Response(200, json=completion("x")))

    async def main() -> list[httpx.AsyncClient]:
        async with OpenAIBackend(URL, transport=AsyncOnly(server.transport), dialect="openai") as llm:
            await llm.agenerate("hi")
            clients = llm.async_clients
        with pytest.raises(BackendClosedError):
            await llm.agenerate("hi")
        return clients

    clients = asyncio.run(main())
    assert len(clients) == 1 and clients[0].is_closed


class AsyncOnly(httpx.AsyncBaseTransport):
    """An async face for a MockTransport (which implements both)."""

    def __init__(self, inner: httpx.MockTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.DecodingError("bad gzip"), ServerResponseError),
        (httpx.TooManyRedirects("loop"), ServerResponseError),
        (httpx.RemoteProtocolError("peer closed"), BackendUnavailableError),
        (httpx.ReadTimeout("slow"), BackendUnavailableError),
    ],
)
@pytest.mark.parametrize("stop", [(), ("\n",)], ids=["unary", "streamed"])
def test_every_httpx_exception_is_translated(failure: Exception, error: type[Exception], stop: tuple[str, ...]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(error, match=type(failure).__name__ if error is ServerResponseError else "."):
        backend(FakeServer(fail), model="m", max_retries=1).complete("hi", stop=stop)


def test_a_stream_that_fails_to_decode_midway_is_a_server_error() -> None:
    def body() -> Iterator[bytes]:
        yield sse(chunk(" a"))[:20]
        raise httpx.DecodingError("bad chunk")

    server = FakeServer(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body()))
    with pytest.raises(ServerResponseError, match=r"stream broke off.*DecodingError"):
        backend(server, model="m").complete("hi", stop=["\n"])


def test_async_calls_translate_httpx_exceptions_too() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.TooManyRedirects("loop")

    llm = OpenAIBackend(URL, transport=AsyncOnly(FakeServer(fail).transport), model="m", dialect="openai")
    with pytest.raises(ServerResponseError, match="TooManyRedirects"):
        asyncio.run(llm.agenerate("hi"))
