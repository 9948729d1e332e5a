"""Fixture Wikipedia for tests: pages rebuilt from the ReAct prompts' recorded observations.

``build_fixture(trajectories)`` inverts the paper's environment: every ``Search[X]`` whose
recorded observation is page text becomes a page ``X`` whose first line is that text,
every ``Lookup`` result becomes a further line of the current page, a ``Could not find
[X]`` becomes a disambiguation page ``X`` (searching ``[X]`` lists the recorded titles),
and a plain ``Could not find X`` a fixed search result.

The prompts' observations were edited by hand by the paper's authors (trimmed to fewer
than five sentences, lookups from an older version of the environment, a list of seven
similar titles), so the environment cannot reproduce all of them. ``build_fixture`` says
for each step which observation the environment must reproduce exactly (up to trailing
whitespace, which the runner strips) and which it can only approximate.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from promptlab.tools import LocalWikipedia, WikiFixture, WikiPage
from tests.tools.trajectories import Trajectory

_COULD_NOT_FIND = re.compile(r"^Could not find (?P<entity>.*)\. Similar: (?P<titles>\[.*\])\.$", re.DOTALL)
_RESULT = re.compile(r"^\(Result (?P<k>\d+) / (?P<n>\d+)\) (?P<sentence>.*)$", re.DOTALL)


@dataclass
class Expectation:
    """What the environment must answer at one recorded step."""

    exact: str | None
    """The observation it must return (trailing whitespace aside); None: only approximately."""
    note: str = ""
    """Why ``exact`` is not the recorded observation (or is None)."""


@dataclass
class _Page:
    first: str
    lookups: list[str] = field(default_factory=list)
    search_steps: list[tuple[tuple[int, int], str]] = field(default_factory=list)
    lookup_steps: list[tuple[tuple[int, int], str, str]] = field(default_factory=list)


def build_fixture(trajectories: list[Trajectory]) -> tuple[WikiFixture, dict[tuple[int, int], Expectation]]:
    """Pages for these trajectories, and the expectation per ``(trajectory index, step number)``."""
    pages: dict[str, _Page] = {}
    disambiguation: dict[str, list[str]] = {}
    search: dict[str, list[str]] = {}
    expected: dict[tuple[int, int], Expectation] = {}
    for t_index, trajectory in enumerate(trajectories):
        current: _Page | None = None
        for step in trajectory.steps:
            key, observation = (t_index, step.number), step.observation or ""
            tool, _, argument = step.action.partition("[")
            argument = argument.removesuffix("]")
            if tool == "Search" and (missing := _COULD_NOT_FIND.match(observation)):
                titles = ast.literal_eval(missing["titles"])
                search[missing["entity"]] = titles
                if missing["entity"] == f"[{argument}]":
                    disambiguation[argument] = titles
                five = f"Could not find {missing['entity']}. Similar: {titles[:5]}."
                note = f"the prompt lists {len(titles)} similar titles; the environment keeps 5"
                expected[key] = Expectation(five, note if len(titles) > 5 else "")
            elif tool == "Search":
                current = pages.setdefault(argument, _Page(observation.strip()))
                current.search_steps.append((key, observation))
            elif tool == "Lookup" and current is not None:
                if result := _RESULT.match(observation):
                    sentence = result["sentence"].strip()
                    if sentence not in current.lookups:
                        current.lookups.append(sentence)
                current.lookup_steps.append((key, argument, observation))
    fixture = WikiFixture(
        pages={**{t: WikiPage(text=_page_text(p)) for t, p in pages.items()},
               **{t: WikiPage(text=f"{t} may refer to:", disambiguation=d) for t, d in disambiguation.items()}},
        search=search,
    )
    for page in pages.values():
        for key, observation in page.search_steps:
            expected[key] = _search_expectation(page, observation)
        for key, keyword, observation in page.lookup_steps:
            expected[key] = _lookup_expectation(page, keyword, observation)
    return fixture, expected


def _page_text(page: _Page) -> str:
    # The environment appends "." to every sentence: store sentences without their last one.
    return "\n".join(line.removesuffix(".") for line in [page.first, *page.lookups])


def _sentences(text: str) -> list[str] | None:
    """The recorded text's sentences if the paper's split can produce it exactly, else None."""
    text = text.rstrip()
    if "\n" in text or not text.endswith("."):
        return None
    pieces = text[:-1].split(". ")
    return pieces if all(p and p == p.strip() for p in pieces) else None


def _search_expectation(page: _Page, observation: str) -> Expectation:
    sentences = _sentences(observation)
    if sentences is None:
        return Expectation(None, "the recorded text is not a sequence of sentences ending in '.'")
    if len(sentences) > 5:
        return Expectation(None, "the recorded text has more than five sentences")
    if page.lookups and len(sentences) < 5:
        return Expectation(None, f"trimmed to {len(sentences)} sentence(s), the page goes on (later lookups)")
    return Expectation(observation.rstrip())


def _lookup_expectation(page: _Page, keyword: str, observation: str) -> Expectation:
    lines = [page.first, *page.lookups]
    if observation.strip() == "No more results.":
        if any(keyword.lower() in line.lower() for line in lines):
            return Expectation(None, "the page holds the keyword")
        return Expectation("No more results.")
    result = _RESULT.match(observation)
    if result is None:
        return Expectation(None, "not a lookup result")
    sentences = _sentences(result["sentence"])
    if sentences is None or len(sentences) != 1:
        return Expectation(None, "the recorded result is not one sentence of the paper's split")
    if (result["k"], result["n"]) != ("1", "1") or sum(keyword.lower() in line.lower() for line in lines) != 1:
        return Expectation(None, f"the recorded result is {result['k']} of {result['n']}; "
                                 "the fixture holds the one sentence")
    return Expectation(observation.rstrip())


@pytest.fixture
def wiki_pages() -> dict[str, str | WikiPage]:
    """A few small pages for unit tests of the environment."""
    return {
        "Colorado orogeny": "The Colorado orogeny was an episode of mountain building (an orogeny) in Colorado\n"
                            "== Eastern sector ==\n"
                            "The eastern sector extends into the High Plains and is called the Central Plains "
                            "orogeny. The sector is east\nShort line\n"
                            "The Wyoming sector was formerly called the Medicine Bow orogeny.",
        "The Interview": "The Interview is a 2014 action comedy film. It was directed by Seth Rogen and Evan Goldberg.",
        "Mercury": WikiPage(text="Mercury may refer to:", disambiguation=["Mercury (planet)", "Mercury (element)"]),
        "Mercury (planet)": "Mercury is the first planet from the Sun. It is the smallest planet. One. Two. Three. "
                            "Four. Five.",
    }


@pytest.fixture
def local_wiki(wiki_pages: dict[str, str | WikiPage]) -> Iterator[LocalWikipedia]:
    """A running fixture Wikipedia (127.0.0.1, a free port) with ``wiki_pages``."""
    with LocalWikipedia(wiki_pages, redirects={"The Interview (Seth Rogen film)": "The Interview"},
                        search={"[Mercury]": ["Mercury (planet)", "Mercury (element)", "Freddie Mercury",
                                              "Mercury Records", "Mercury program", "Project Mercury"]}) as wiki:
        yield wiki
