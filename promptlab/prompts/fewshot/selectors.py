"""Few-shot example selectors: which demonstrations go into the prompt for a query.

Every selector answers ``select(query, k=None) -> list[Example]``, most relevant first,
and is deterministic: the same query gives the same examples in the same order, with
ties broken by the order of the pool. Selectors compose: :class:`TokenBudgetSelector`
wraps another selector and keeps what fits a token budget.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from promptlab.errors import ConfigError
from promptlab.prompts.fewshot.examples import Example, as_examples

__all__ = [
    "BM25Selector",
    "ExampleKey",
    "ExampleSelector",
    "FixedSelector",
    "PoolSelector",
    "RandomSelector",
    "TokenBudgetSelector",
    "qa_format",
    "question_of",
    "rank_by_score",
]

ExampleKey = Callable[[Example], str]
"""The text of an example that a query is compared with (default: its question)."""


def question_of(example: Example) -> str:
    return example.question


def qa_format(example: Example) -> str:
    """``Q: ...\\nA: ...`` followed by a blank line: the classic few-shot layout."""
    return f"Q: {example.question}\nA: {example.rationale or example.program or example.answer or ''}\n\n"


class ExampleSelector(ABC):
    """Chooses few-shot examples for a query; ``k`` caps how many (None: no cap)."""

    def __init__(self, k: int | None = None) -> None:
        if k is not None and k < 0:
            raise ConfigError(f"{type(self).__name__}: k must be >= 0, got {k}")
        self.k = k

    @abstractmethod
    def select(self, query: str, k: int | None = None) -> list[Example]:
        """The examples for ``query``, most relevant first; ``k`` overrides the default cap."""

    def _limit(self, k: int | None) -> int | None:
        return self.k if k is None else k


class PoolSelector(ExampleSelector):
    """A selector that ranks a fixed pool of examples."""

    def __init__(self, pool: Iterable[Example | dict[str, Any]], k: int | None = None) -> None:
        super().__init__(k)
        self.pool = as_examples(pool)
        if not self.pool:
            raise ConfigError(f"{type(self).__name__}: the example pool is empty")

    def select(self, query: str, k: int | None = None) -> list[Example]:
        limit = self._limit(k)
        order = self._rank(query, len(self.pool) if limit is None else limit)
        return [self.pool[i] for i in order[:limit]]

    @abstractmethod
    def _rank(self, query: str, k: int) -> list[int]:
        """Pool indices, best first (at least ``k`` of them when the pool allows)."""


def rank_by_score(scores: Sequence[float]) -> list[int]:
    """Indices by descending score; equal scores keep pool order (a stable sort)."""
    return sorted(range(len(scores)), key=lambda i: -scores[i])


class FixedSelector(PoolSelector):
    """The first ``k`` examples of the pool, whatever the query (classic fixed k-shot)."""

    def _rank(self, query: str, k: int) -> list[int]:
        return list(range(len(self.pool)))


class RandomSelector(PoolSelector):
    """A random sample of ``k`` examples, reproducible from ``seed`` and the query.

    Different queries get different samples; the same query always gets the same one.
    Set ``per_query=False`` to draw one sample for every query.
    """

    def __init__(self, pool: Iterable[Example | dict[str, Any]], k: int | None = None, *, seed: int = 0,
                 per_query: bool = True) -> None:
        super().__init__(pool, k)
        self.seed = seed
        self.per_query = per_query

    def _rank(self, query: str, k: int) -> list[int]:
        rng = random.Random(f"{self.seed}\x00{query}" if self.per_query else self.seed)
        return rng.sample(range(len(self.pool)), min(k, len(self.pool)))


class BM25Selector(PoolSelector):
    """Examples ranked by BM25 (the ``bm25s`` package) between the query and ``key(example)``."""

    def __init__(self, pool: Iterable[Example | dict[str, Any]], k: int | None = None, *,
                 key: ExampleKey = question_of, stopwords: str | list[str] = "en") -> None:
        import bm25s

        super().__init__(pool, k)
        self._stopwords = stopwords
        self._bm25 = bm25s.BM25()
        self._bm25.index(self._tokenize([key(e) for e in self.pool]), show_progress=False)

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        import bm25s

        tokens = bm25s.tokenize(texts, stopwords=self._stopwords, return_ids=False, show_progress=False)
        return [list(t) for t in tokens]

    def _rank(self, query: str, k: int) -> list[int]:
        tokens = self._tokenize([query])[0]
        if not tokens:
            return list(range(len(self.pool)))
        return rank_by_score([float(s) for s in self._bm25.get_scores(tokens)])


class TokenBudgetSelector(ExampleSelector):
    """Keeps the examples of ``inner`` (in its order) whose formatted text fits ``budget`` tokens.

    Tokens are counted with ``count_tokens`` (pass ``backend.count_tokens`` to count with
    the model's own tokenizer) on ``formatter(example)``, which should match how the
    template lays out an example. An example that does not fit is skipped and smaller
    ones after it may still be taken. ``inner`` may be a selector or a plain pool.
    """

    def __init__(
        self,
        inner: ExampleSelector | Iterable[Example | dict[str, Any]],
        budget: int,
        count_tokens: Callable[[str], int],
        *,
        formatter: Callable[[Example], str] = qa_format,
        k: int | None = None,
    ) -> None:
        super().__init__(k)
        if budget < 0:
            raise ConfigError(f"TokenBudgetSelector: budget must be >= 0 tokens, got {budget}")
        self.inner = inner if isinstance(inner, ExampleSelector) else FixedSelector(inner)
        self.budget = budget
        self.count_tokens = count_tokens
        self.formatter = formatter
        self._sizes: dict[str, int] = {}

    def select(self, query: str, k: int | None = None) -> list[Example]:
        limit = self._limit(k)
        chosen: list[Example] = []
        used = 0
        for example in self.inner.select(query):
            if limit is not None and len(chosen) >= limit:
                break
            size = self.tokens(example)
            if used + size <= self.budget:
                chosen.append(example)
                used += size
        return chosen

    def tokens(self, example: Example) -> int:
        """Tokens that ``example`` takes in the prompt (counted once, then remembered)."""
        text = self.formatter(example)
        if text not in self._sizes:
            self._sizes[text] = self.count_tokens(text)
        return self._sizes[text]
