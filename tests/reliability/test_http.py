"""Hostile OpenAI-compatible servers: every call ends in a typed error (or a cut stream) within its
deadline, memory stays bounded, and the next call on the same backend works.

Limits under test: ``HttpLimits(deadline_s=2, read_timeout_s=1, max_response_bytes=4 MiB)``.
Bounds asserted: the attack ends in under 20 s (ten times the deadline; unbounded before),
peak memory grows by less than 64 MiB (the attacks send up to 1 GiB or never stop).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.hostile_server import HostileServer
from tests.reliability.probe import probe

MAX_GROWTH_MIB = 64
MAX_SECONDS = 20.0

SCENARIO = '''
def scenario(mark):
    import asyncio, time
    import httpx
    from promptlab.backends.openai import HttpLimits, OpenAIBackend

    def control(mode):
        httpx.get("{url}".removesuffix("/v1") + "/control/" + mode)

    limits = HttpLimits(deadline_s=2.0, read_timeout_s=1.0, max_response_bytes=4 << 20)
    llm = OpenAIBackend("{url}", model="hostile", backoff=0.0, limits=limits)
    llm.complete("hi", max_new_tokens=4)
    control("{mode}")
    mark()
    started = time.monotonic()
    try:
        completion = {call}
        result = {{"text_len": len(completion.text), "finish": completion.finish_reason}}
    except Exception as exc:
        result = {{"error": type(exc).__name__, "message": str(exc)[:300]}}
    result["attack_s"] = time.monotonic() - started
    control("ok")
    result["next"] = llm.complete("hi", max_new_tokens=4).text
    return result
'''

SYNC = 'llm.complete("hi", max_new_tokens=8)'
STREAMED = 'llm.complete("hi", max_new_tokens=8, stop=["never"])'
ASYNC = 'asyncio.run(llm.agenerate("hi", max_new_tokens=8))[0]'


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


@pytest.mark.parametrize(("mode", "call", "error", "words"), [
    ("huge", SYNC, "ServerResponseError", "max_response_bytes"),
    ("huge", ASYNC, "ServerResponseError", "max_response_bytes"),
    ("drip", SYNC, "BackendUnavailableError", "deadline_s"),
    ("drip", ASYNC, "BackendUnavailableError", "deadline_s"),
    ("hang", SYNC, "BackendUnavailableError", ""),
    ("hang", ASYNC, "BackendUnavailableError", ""),
    ("deep", SYNC, "ServerResponseError", "nested deeper"),
    ("bigint", SYNC, "ServerResponseError", "max_number_chars"),
    ("sse_pings", STREAMED, "BackendUnavailableError|ServerResponseError", "max_response_bytes|deadline_s"),
    ("long_line", STREAMED, "ServerResponseError", "max_line_bytes"),
])
def test_a_hostile_server_ends_in_a_typed_error(server: HostileServer, mode: str, call: str, error: str,
                                                words: str) -> None:
    result = probe(SCENARIO.format(url=server.url, mode=mode, call=call))
    assert result.get("error") in error.split("|"), result
    assert any(word in result["message"] for word in words.split("|")), result
    assert result["attack_s"] < MAX_SECONDS
    assert result["growth_mib"] < MAX_GROWTH_MIB, result
    assert result["next"] == " fine"


@pytest.mark.parametrize("call", [STREAMED, ASYNC.replace('max_new_tokens=8)', 'max_new_tokens=8, stop=["z"])')])
def test_an_endless_token_stream_is_cut_after_max_new_tokens(server: HostileServer, call: str) -> None:
    result = probe(SCENARIO.format(url=server.url, mode="sse_forever", call=call))
    assert result.get("finish") == "length", result
    assert result["text_len"] == 8  # one character a token: exactly max_new_tokens of them
    assert result["growth_mib"] < MAX_GROWTH_MIB
    assert result["next"] == " fine"


def test_an_evaluation_against_a_server_that_stalls_loses_nothing(server: HostileServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    import httpx

    from promptlab.backends.openai import HttpLimits, OpenAIBackend
    from promptlab.eval import load_results, run_eval

    data = tmp_path / "sums.jsonl"
    data.write_text("".join(json.dumps({"question": f"{i} + {i}?", "answer": str(2 * i)}) + "\n" for i in range(4)))
    control = server.url.removesuffix("/v1") + "/control/"
    out = tmp_path / "out"
    limits = HttpLimits(deadline_s=1.0, read_timeout_s=0.5)
    with OpenAIBackend(server.url, model="hostile", backoff=0.0, limits=limits) as llm:
        httpx.get(control + "ok")
        first = run_eval(data, backend=llm, out=out, limit=2, progress=None)
        assert first.outcome.completed == 2
        httpx.get(control + "hang")
        stalled = run_eval(data, backend=llm, out=out, progress=None)
        assert stalled.outcome.aborted is not None and "did not finish within 1 s" in stalled.outcome.aborted
        assert stalled.outcome.completed == 0 and stalled.outcome.remaining == 2
        assert sorted(r.id for r in load_results(out)) == sorted(r.id for r in first.summary.results)  # kept
        httpx.get(control + "ok")
        resumed = run_eval(data, backend=llm, out=out, progress=None)
    assert resumed.outcome.skipped == 2 and resumed.outcome.completed == 2
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and len({json.loads(line)["id"] for line in lines}) == 4  # nothing twice
