"""Tools end when they say they end: a timed-out Wikipedia search never changes the episode, hostile
MediaWiki answers end in one error within the deadline and bounded memory, the calculator bounds every call."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from promptlab.tools import Calculator, LocalWikipedia, WikipediaEnv, WikipediaSearch
from promptlab.tools.calculator import CalculatorError, calculate
from promptlab.tools.wikipedia import NO_MORE_RESULTS
from tests.reliability.hostile_server import HostileServer
from tests.reliability.probe import probe

MAX_GROWTH_MIB = 64
MAX_SECONDS = 20.0


def _wait_for_abandoned_calls(give_up_s: float = 30.0) -> None:
    deadline = time.monotonic() + give_up_s
    while any(t.name.startswith("promptlab-tool-") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_timed_out_search_never_changes_the_episode_and_the_next_call_works() -> None:
    pages = {"Late page": "The late page says something about keywords here.",
             "Fast page": "The fast page is about keywords too."}
    with LocalWikipedia(pages, delay_s=1.0) as wiki:
        env = WikipediaEnv(wiki.api_url, timeout_s=10)
        search = WikipediaSearch(env)
        search.timeout_s = 0.2  # the agent stops waiting long before the server answers
        observation = search.invoke({"entity": "Late page"})
        assert observation.kind == "timeout"
        _wait_for_abandoned_calls()  # the abandoned request has now finished in the background
        assert env.page is None
        assert env.lookup("keywords") == NO_MORE_RESULTS  # the late page never arrived
        search.timeout_s = 10.0
        assert search.invoke({"entity": "Fast page"}).text == "The fast page is about keywords too.."
        assert env.lookup("keywords").startswith("(Result 1 / 1) The fast page")


def test_observations_and_pages_are_capped() -> None:
    sentence = "word " * 50_000  # one 250,000-character sentence
    with LocalWikipedia({"Long": sentence}) as wiki:
        env = WikipediaEnv(wiki.api_url, timeout_s=10, max_page_chars=100_000, max_observation_chars=500)
        observation = env.search("Long")
        assert len(observation) <= 506 and observation.endswith("[...]")
        assert env.page is not None and len(env.page) <= 100_001


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


SCENARIO = '''
def scenario(mark):
    import time
    import httpx
    from promptlab.tools import WikipediaEnv, WikipediaError
    httpx.get("{root}/control/{mode}")
    env = WikipediaEnv("{root}/w/api.php", timeout_s=2.0, max_response_bytes=4 << 20)
    mark()
    started = time.monotonic()
    try:
        env.search("Anything")
        result = {{"error": None}}
    except WikipediaError as exc:
        result = {{"error": "WikipediaError", "message": str(exc)}}
    result["attack_s"] = time.monotonic() - started
    httpx.get("{root}/control/ok")
    return result
'''


@pytest.mark.parametrize(("mode", "words"), [
    ("huge", "larger than 4,194,304 bytes"),
    ("drip", "did not answer within 2 s"),
    ("hang", "did not answer within 2 s"),
    ("deep", "nested deeper"),
    ("bigint", "max_number_chars"),
])
def test_a_hostile_mediawiki_ends_in_one_error(server: HostileServer, mode: str, words: str) -> None:
    result = probe(SCENARIO.format(root=server.url.removesuffix("/v1"), mode=mode))
    assert result.get("error") == "WikipediaError", result
    assert words in result["message"]
    assert result["attack_s"] < MAX_SECONDS
    assert result["growth_mib"] < MAX_GROWTH_MIB, result


@pytest.mark.parametrize("expression", ["round(1, -10**9)", "round(1, 10**9)", "round(2.5, -10**12)"])
def test_the_calculator_refuses_a_huge_round_precision(expression: str) -> None:
    with pytest.raises(CalculatorError, match="precision"):
        calculate(expression)
    assert Calculator().invoke({"expression": expression}).kind == "error"
    assert calculate("round(123456, -2)") == 123500
