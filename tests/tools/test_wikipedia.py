"""The paper's Wikipedia environment against a local MediaWiki server (127.0.0.1)."""

from __future__ import annotations

import socket
import threading
import time

from promptlab.tools import LocalWikipedia, WikipediaEnv, WikipediaSearch, paper_sentences, wikipedia_tools
from promptlab.tools.wikipedia import NO_MORE_RESULTS, RESET_OBSERVATION, page_text


def test_sentence_split_is_the_papers() -> None:
    assert paper_sentences("A b. C d.\n\n  E f  \nG. ") == ["A b.", "C d..", "E f.", "G."]


def test_page_text_drops_headings_and_short_lines() -> None:
    assert page_text("One two three.\n== History ==\nShort line\nFour five six seven\n") == \
        "One two three.\nFour five six seven\n"


def test_search_returns_the_first_five_sentences(local_wiki: LocalWikipedia) -> None:
    env = WikipediaEnv(local_wiki.api_url, timeout_s=5)
    assert env.search("Mercury (planet)") == (
        "Mercury is the first planet from the Sun. It is the smallest planet. One. Two. Three.")
    assert env.search("Colorado orogeny") == (
        "The Colorado orogeny was an episode of mountain building (an orogeny) in Colorado. "
        "The eastern sector extends into the High Plains and is called the Central Plains orogeny. "
        "The sector is east. The Wyoming sector was formerly called the Medicine Bow orogeny..")


def test_lookup_steps_through_matches_then_says_no_more(local_wiki: LocalWikipedia) -> None:
    env = WikipediaEnv(local_wiki.api_url, timeout_s=5)
    assert env.lookup("sector") == NO_MORE_RESULTS  # no page yet
    env.search("Colorado orogeny")
    assert env.lookup("SECTOR") == (
        "(Result 1 / 3) The eastern sector extends into the High Plains and is called the Central Plains orogeny.")
    assert env.lookup("SECTOR") == "(Result 2 / 3) The sector is east."
    assert env.lookup("Medicine") == "(Result 1 / 1) The Wyoming sector was formerly called the Medicine Bow orogeny.."
    assert env.lookup("Medicine") == NO_MORE_RESULTS
    assert env.lookup("SECTOR").startswith("(Result 1 / 3)")  # a new keyword rebuilt the list
    env.search("The Interview")
    assert env.lookup("sector") == NO_MORE_RESULTS  # a successful search resets lookup


def test_disambiguation_searches_again_with_brackets(local_wiki: LocalWikipedia) -> None:
    env = WikipediaEnv(local_wiki.api_url, timeout_s=5)
    assert env.search("Mercury") == (
        "Could not find [Mercury]. Similar: ['Mercury (planet)', 'Mercury (element)', 'Freddie Mercury', "
        "'Mercury Records', 'Mercury program'].")
    searched = [r["srsearch"] for r in local_wiki.requests if r.get("list") == "search"]
    assert searched == ["[Mercury]"]


def test_missing_page_lists_similar_titles_and_keeps_the_old_page(local_wiki: LocalWikipedia) -> None:
    env = WikipediaEnv(local_wiki.api_url, timeout_s=5)
    env.search("Colorado orogeny")
    assert env.search("Rogen Goldberg films") == "Could not find Rogen Goldberg films. Similar: ['The Interview']."
    assert env.lookup("Wyoming").startswith("(Result 1 / 1) The Wyoming sector")


def test_redirects_and_title_normalisation(local_wiki: LocalWikipedia) -> None:
    env = WikipediaEnv(local_wiki.api_url, timeout_s=5)
    expected = "The Interview is a 2014 action comedy film. It was directed by Seth Rogen and Evan Goldberg.."
    assert env.search("The Interview (Seth Rogen film)") == expected
    assert env.search("the_Interview") == expected


def test_step_is_the_papers_text_interface(local_wiki: LocalWikipedia) -> None:
    env = WikipediaEnv(local_wiki.api_url, timeout_s=5)
    assert env.reset() == RESET_OBSERVATION
    assert env.step("Search[Mercury]") == ("Invalid action: Search[Mercury]", False)  # the paper is case-sensitive
    assert env.step("think[hmm]") == ("Nice thought.", False)
    assert env.step("search[Mercury (planet)]")[0].startswith("Mercury is the first planet")
    assert env.step(" finish[Sun] ") == ("Episode finished, reward = 0\n", True)
    assert env.step("search[Mercury]") == ("Episode finished, reward = 0\n", True)
    assert (env.answer, env.steps) == ("Sun", 4)


def test_no_global_cache_across_servers(wiki_pages: dict[str, object]) -> None:
    with LocalWikipedia({"Paris": "Paris is the capital of France."}) as first, \
            LocalWikipedia({"Paris": "Paris is a city in Texas."}) as second:
        assert WikipediaEnv(first.api_url).search("Paris") == "Paris is the capital of France.."
        assert WikipediaEnv(second.api_url).search("Paris") == "Paris is a city in Texas.."
        assert WikipediaEnv(first.api_url).search("Paris") == "Paris is the capital of France.."
        assert WikipediaEnv(second.api_url).search("London").startswith("Could not find London")
        assert len([r for r in second.requests if r.get("list") == "search"]) == 1


def test_concurrent_episodes_keep_their_own_endpoints() -> None:
    with LocalWikipedia({"X": "X is one thing."}) as first, LocalWikipedia({"X": "X is another thing."}) as second:
        results: dict[str, list[str]] = {"first": [], "second": []}

        def work(name: str, url: str) -> None:
            env = WikipediaEnv(url, timeout_s=5)
            results[name] += [env.search("X") for _ in range(15)]

        threads = [threading.Thread(target=work, args=(n, w.api_url)) for n, w in
                   (("first", first), ("second", second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    assert set(results["first"]) == {"X is one thing.."}
    assert set(results["second"]) == {"X is another thing.."}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_server_down_is_an_error_observation() -> None:
    search, _ = wikipedia_tools(f"http://127.0.0.1:{_closed_port()}/w/api.php", timeout_s=2)
    started = time.perf_counter()
    observation = search.invoke("Paris")
    assert observation.kind == "error"
    assert "Could not reach Wikipedia" in observation.text and "connection refused" in observation.text
    assert time.perf_counter() - started < 2


def test_slow_server_times_out_within_the_bound(local_wiki: LocalWikipedia) -> None:
    local_wiki.delay_s = 3.0
    search = WikipediaSearch(WikipediaEnv(local_wiki.api_url, timeout_s=0.5))
    started = time.perf_counter()
    observation = search.invoke("Mercury (planet)")
    elapsed = time.perf_counter() - started
    assert observation.kind == "error"  # the HTTP deadline fired, not the tool's thread timeout
    assert "did not answer within 0.5 s" in observation.text
    assert elapsed < 1.6


def test_unreadable_answer_is_an_error_observation() -> None:
    class Broken(LocalWikipedia):
        def answer(self, params: dict[str, str]) -> dict[str, object]:
            return {"unexpected": True}

    with Broken({}) as wiki:
        observation = WikipediaEnv(wiki.api_url, timeout_s=2).tools()[0].invoke("Paris")
    assert observation.kind == "error"
    assert "unreadable answer" in observation.text


def test_empty_entity_is_invalid(local_wiki: LocalWikipedia) -> None:
    search, lookup = wikipedia_tools(local_wiki.api_url)
    assert search.invoke("").kind == "invalid_arguments"
    assert lookup.invoke({"keyword": ""}).kind == "invalid_arguments"
    assert local_wiki.requests == []


def test_tools_share_one_episode_and_reset_it(local_wiki: LocalWikipedia) -> None:
    search, lookup = wikipedia_tools(local_wiki.api_url)
    search.invoke("Colorado orogeny")
    assert lookup.invoke("Wyoming").text.startswith("(Result 1 / 1)")
    search.reset()
    assert lookup.invoke("Wyoming").text == NO_MORE_RESULTS
