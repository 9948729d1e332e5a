"""The ReAct paper's Wikipedia environment: ``search[entity]``, ``lookup[keyword]``, ``finish[answer]``.

Semantics follow ``wikienv.py`` of Yao et al. (2023), on top of the ``wikipedia`` package:

* ``search[entity]`` loads the page titled ``entity`` (redirects followed) and returns its
  first five sentences. A missing page gives ``Could not find <entity>. Similar: [...]``
  with up to five search-result titles; a disambiguation page searches again for
  ``[entity]``, whose brackets rule out an exact title, so the similar titles come back.
  A failed search keeps the previous page for ``lookup``.
* ``lookup[keyword]`` steps through the current page's sentences containing the keyword
  (case-insensitive): ``(Result k / N) <sentence>``, then ``No more results.``.
* Sentences are the paper's: non-empty lines split on ``". "``, stripped, with ``.`` appended.

Every episode owns its state (a :class:`WikipediaEnv`); nothing is global or cached
between calls. Each search is bounded by ``timeout_s`` in total and by the byte caps of
:mod:`promptlab.tools._wiki_http`; pages are cut at ``max_page_chars`` and observations at
``max_observation_chars``. A search that the agent abandoned (its tool call timed out) never
changes the episode: the page is fetched first and committed only by a call that returned in time.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from promptlab.tools._wiki_http import MAX_RESPONSE_BYTES, WikipediaError, bounded_requests, wiki_module

if TYPE_CHECKING:
    import requests
from promptlab.tools.base import Observation, Tool

__all__ = [
    "MAX_OBSERVATION_CHARS",
    "MAX_PAGE_CHARS",
    "NO_MORE_RESULTS",
    "RESET_OBSERVATION",
    "USER_AGENT",
    "WIKIPEDIA_API_URL",
    "EntityArgs",
    "KeywordArgs",
    "SearchResult",
    "WikipediaEnv",
    "WikipediaLookup",
    "WikipediaSearch",
    "page_text",
    "paper_sentences",
    "wikipedia_tools",
]

WIKIPEDIA_API_URL = "https://en.wikipedia.org/w/api.php"
MAX_PAGE_CHARS = 1_000_000
"""Characters of a page kept for ``lookup`` (the longest English articles are about 600,000)."""
MAX_OBSERVATION_CHARS = 4_000
"""Characters of one observation (five sentences of a normal page are about 600)."""
USER_AGENT = "promptlab (https://github.com/promptlab/promptlab) wikipedia/1.4"
RESET_OBSERVATION = "Interact with Wikipedia using search[], lookup[], and finish[].\n"
NO_MORE_RESULTS = "No more results.\n"

_ILLEGAL_TITLE = re.compile(r"[\[\]{}|#<>]")
_HEADING = re.compile(r"^=+\s.*\s=+$")


def paper_sentences(page: str) -> list[str]:
    """The paper's sentence split: non-empty lines, split on ``". "``, stripped, ``.`` appended."""
    sentences: list[str] = []
    for paragraph in page.split("\n"):
        if paragraph.strip():
            sentences.extend(paragraph.split(". "))
    return [s.strip() + "." for s in sentences if s.strip()]


def page_text(extract: str) -> str:
    """The page as the paper's env keeps it: text lines with more than two words, one per line.

    The env read ``<p>`` and ``<ul>`` elements of the HTML; from the API's plain-text
    extract we drop section headings (``== History ==``) and short lines alike.
    """
    lines = (line.strip() for line in extract.split("\n"))
    return "".join(line + "\n" for line in lines if len(line.split(" ")) > 2 and not _HEADING.match(line))


@dataclass(frozen=True)
class SearchResult:
    """What a fetched ``search`` shows (``observation``) and loads (``page``, None: keep the current one)."""

    observation: str
    page: str | None = None


class WikipediaEnv:
    """One episode of the paper's Wikipedia environment (create one per question, or ``reset``)."""

    def __init__(self, api_url: str = WIKIPEDIA_API_URL, *, timeout_s: float = 10.0, max_similar: int = 5,
                 user_agent: str = USER_AGENT, session: requests.Session | None = None,
                 max_page_chars: int = MAX_PAGE_CHARS, max_observation_chars: int = MAX_OBSERVATION_CHARS,
                 max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        self.api_url = api_url
        self.timeout_s = timeout_s
        self.max_page_chars = max_page_chars
        self.max_observation_chars = max_observation_chars
        self.max_response_bytes = max_response_bytes
        self.max_similar = max_similar
        self.user_agent = user_agent
        if session is None:
            import requests

            session = requests.Session()
        self._session = session
        self.reset()

    def reset(self) -> str:
        """Clear the page, lookup state and answer; return the paper's reset observation."""
        self.page: str | None = None
        self.lookup_keyword: str | None = None
        self.lookup_results: list[str] = []
        self.lookup_cursor = 0
        self.answer: str | None = None
        self.steps = 0
        self.observation = RESET_OBSERVATION
        return self.observation

    # ------------------------------------------------------------------- actions
    def search(self, entity: str) -> str:
        """``search[entity]``; raises :class:`WikipediaError` when Wikipedia fails or is too slow."""
        return self.commit(self.fetch(entity))

    def fetch(self, entity: str) -> SearchResult:
        """The I/O half of ``search``: what it would show and load, without touching the episode."""
        with bounded_requests(self.api_url, self._session, self.timeout_s, self.user_agent, self.max_response_bytes):
            return self._search(entity)

    def commit(self, result: SearchResult) -> str:
        """The state half of ``search``: load the fetched page (if any) and return the observation."""
        if result.page is not None:
            self.page = result.page
            self.lookup_keyword, self.lookup_results, self.lookup_cursor = None, [], 0
        return result.observation

    def lookup(self, keyword: str) -> str:
        """``lookup[keyword]``: the next sentence of the current page containing ``keyword``."""
        if keyword != self.lookup_keyword:
            self.lookup_keyword = keyword
            needle = keyword.lower()
            self.lookup_results = [s for s in paper_sentences(self.page or "") if needle in s.lower()]
            self.lookup_cursor = 0
        if self.lookup_cursor >= len(self.lookup_results):
            return NO_MORE_RESULTS
        self.lookup_cursor += 1
        sentence = self.lookup_results[self.lookup_cursor - 1]
        return self._clip(f"(Result {self.lookup_cursor} / {len(self.lookup_results)}) {sentence}")

    def finish(self, answer: str) -> str:
        """``finish[answer]``: store the answer; the episode is over."""
        self.answer = answer
        return "Episode finished, reward = 0\n"

    def step(self, action: str) -> tuple[str, bool]:
        """The paper's text interface: ``env.step("search[Paris]") -> (observation, done)``.

        Actions must be lower-case ``search[...]``, ``lookup[...]``, ``finish[...]`` or
        ``think[...]``; anything else is ``Invalid action: ...``.
        """
        if self.answer is not None:
            return self.observation, True
        self.steps += 1
        action = action.strip()
        name, bracket, rest = action.partition("[")
        if not bracket or not rest.endswith("]") or name not in ("search", "lookup", "finish", "think"):
            self.observation = f"Invalid action: {action}"
        elif name == "think":
            self.observation = "Nice thought."
        else:
            self.observation = getattr(self, name)(rest[:-1])
        return self.observation, self.answer is not None

    def tools(self) -> list[Tool[Any]]:
        """The ``search`` and ``lookup`` tools of this episode (``finish`` is the runner's)."""
        return [WikipediaSearch(self), WikipediaLookup(self)]

    # ------------------------------------------------------------------ internals
    def _search(self, entity: str) -> SearchResult:
        extract = self._page_extract(entity)
        if extract is None:
            titles = wiki_module().search.__wrapped__(entity, results=self.max_similar)
            return SearchResult(self._clip(f"Could not find {entity}. Similar: {titles[:self.max_similar]}."))
        if "may refer to:" in extract:
            return self._search(f"[{entity}]")
        page = page_text(extract[:self.max_page_chars])
        return SearchResult(self._clip(" ".join(paper_sentences(page)[:5])), page)

    def _clip(self, observation: str) -> str:
        limit = self.max_observation_chars
        return observation if len(observation) <= limit else observation[:limit] + " [...]"

    def _page_extract(self, title: str) -> str | None:
        """The plain text of the page titled ``title``; None when there is none; ``may refer to:`` text
        for a disambiguation page."""
        if not title.strip() or _ILLEGAL_TITLE.search(title):
            return None
        wiki = wiki_module()
        try:
            with warnings.catch_warnings():  # bs4 warns about guessing a parser for disambiguation HTML
                warnings.simplefilter("ignore")
                page = wiki.WikipediaPage(title, redirect=True)
            return str(page.content)
        except wiki.PageError:
            return None
        except wiki.DisambiguationError:
            return f"{title} may refer to:"


class EntityArgs(BaseModel):
    entity: str = Field(min_length=1, description="The exact title of a Wikipedia page, e.g. Colorado orogeny.")


class KeywordArgs(BaseModel):
    keyword: str = Field(min_length=1, description="A word or phrase to find in the current page.")


class WikipediaSearch(Tool[EntityArgs]):
    """``search[entity]`` on a :class:`WikipediaEnv`."""

    name = "search"
    description = ("Search the exact entity on Wikipedia and return the first paragraph if it exists; "
                   "if not, return some similar entities to search.")
    args_model = EntityArgs

    def __init__(self, env: WikipediaEnv) -> None:
        self.env = env
        # The env bounds each request; this bounds the whole call, redirects and all.
        self.timeout_s = env.timeout_s + 1.0

    def run(self, args: EntityArgs) -> str | Observation:
        """Fetch only (this may run in a worker thread that the caller abandons); :meth:`complete` commits."""
        try:
            return Observation("", data=self.env.fetch(args.entity))
        except WikipediaError as exc:
            return Observation(str(exc), "error")

    def complete(self, result: str | Observation) -> str | Observation:
        """In the caller's thread, only for a call that returned in time: load the page, show the observation."""
        if isinstance(result, Observation) and isinstance(result.data, SearchResult):
            return self.env.commit(result.data)
        return result

    def reset(self) -> None:
        self.env.reset()


class WikipediaLookup(Tool[KeywordArgs]):
    """``lookup[keyword]`` on a :class:`WikipediaEnv`."""

    name = "lookup"
    description = "Return the next sentence containing the keyword in the current Wikipedia page."
    args_model = KeywordArgs

    def __init__(self, env: WikipediaEnv) -> None:
        self.env = env

    def run(self, args: KeywordArgs) -> str:
        return self.env.lookup(args.keyword)


def wikipedia_tools(api_url: str = WIKIPEDIA_API_URL, *, timeout_s: float = 10.0) -> list[Tool[Any]]:
    """``search`` and ``lookup`` sharing one fresh :class:`WikipediaEnv`."""
    return WikipediaEnv(api_url, timeout_s=timeout_s).tools()
