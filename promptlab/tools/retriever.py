"""Retrieval for RAG: a tool over any search function, or over a local BM25 index (``bm25s``).

Passages keep the id of the document they came from, so an answer can cite its sources::

    retriever = Retriever.bm25({"doc1": "Paris is the capital of France.", ...}, k=3)
    retriever.retrieve("capital of France")  # [Passage(id="doc1", text=..., score=...)]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from promptlab.errors import ToolError
from promptlab.tools.base import Observation, Tool

__all__ = [
    "BM25Index",
    "DocumentLike",
    "Passage",
    "QueryArgs",
    "Retriever",
    "SearchFunction",
    "as_passage",
    "cited_ids",
    "format_passages",
]

_CITATION = re.compile(r"\[([^\[\]\n]{1,200})\]")


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved piece of text with the id of its document."""

    id: str
    text: str
    score: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


DocumentLike = str | Passage | tuple[str, str] | Mapping[str, Any]
SearchFunction = Callable[[str], Iterable[DocumentLike]]


def as_passage(document: DocumentLike, index: int) -> Passage:
    """Accept a string (id = its position), ``(id, text)``, a ``{"id", "text", ...}`` dict or a Passage."""
    if isinstance(document, Passage):
        return document
    if isinstance(document, str):
        return Passage(str(index), document)
    if isinstance(document, tuple) and len(document) == 2:
        return Passage(str(document[0]), str(document[1]))
    if isinstance(document, Mapping) and "text" in document:
        extra = {k: v for k, v in document.items() if k not in ("id", "text", "score")}
        score = document.get("score")
        return Passage(str(document.get("id", index)), str(document["text"]),
                       float(score) if score is not None else None, extra)
    raise ToolError(f"document {index} must be a string, an (id, text) pair or a dict with 'text'; "
                    f"got {type(document).__name__}")


class BM25Index:
    """An in-memory BM25 index (``bm25s``) over documents, searchable by free text."""

    def __init__(self, documents: Sequence[DocumentLike] | Mapping[str, str], *, stopwords: str | None = "en") -> None:
        items: Iterable[DocumentLike] = documents.items() if isinstance(documents, Mapping) else documents
        self.passages = [as_passage(d, i) for i, d in enumerate(items)]
        if not self.passages:
            raise ToolError("a BM25 index needs at least one document")
        import bm25s  # imported on first use: it costs ~0.25 s

        self._stopwords = stopwords
        self._bm25s = bm25s
        self._bm25 = bm25s.BM25()
        self._bm25.index(bm25s.tokenize([p.text for p in self.passages], stopwords=stopwords, show_progress=False),
                         show_progress=False)

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """The ``k`` best passages for ``query`` (those sharing at least one term), best first."""
        tokens = self._bm25s.tokenize([query], stopwords=self._stopwords, return_ids=False, show_progress=False)
        if not tokens or not tokens[0]:
            return []
        indices, scores = self._bm25.retrieve(tokens, k=min(k, len(self.passages)), show_progress=False)
        found = []
        for index, score in zip(indices[0], scores[0], strict=True):
            if score > 0:
                passage = self.passages[int(index)]
                found.append(Passage(passage.id, passage.text, float(score), passage.metadata))
        return found


class QueryArgs(BaseModel):
    query: str = Field(min_length=1, description="What to search the documents for.")


class Retriever(Tool[QueryArgs]):
    """A retrieval tool: query in, passages (``[id] text`` lines) out; ``data`` holds the passages."""

    args_model = QueryArgs

    def __init__(self, search: SearchFunction, *, k: int = 3, name: str = "retrieve",
                 description: str = "Search the documents and return the most relevant passages with their ids.",
                 timeout_s: float | None = 30.0) -> None:
        if k < 1:
            raise ToolError(f"k must be at least 1, got {k}")
        self._search, self.k = search, k
        self.name, self.description, self.timeout_s = name, description, timeout_s

    @classmethod
    def bm25(cls, documents: Sequence[DocumentLike] | Mapping[str, str], *, k: int = 3,
             **options: Any) -> Retriever:
        """A retriever over a local BM25 index of ``documents`` (runs inline: no timeout needed)."""
        index = BM25Index(documents)
        options.setdefault("timeout_s", None)
        return cls(lambda query: index.search(query, k), k=k, **options)

    def retrieve(self, query: str) -> list[Passage]:
        """The top ``k`` passages for ``query``."""
        return [as_passage(d, i) for i, d in enumerate(self._search(query))][: self.k]

    def run(self, args: QueryArgs) -> Observation:
        passages = self.retrieve(args.query)
        if not passages:
            return Observation(f"No passages found for {args.query!r}.", data=[])
        return Observation(format_passages(passages), data=passages)


def cited_ids(answer: str, passages: Iterable[Passage]) -> list[str]:
    """Ids of ``passages`` that ``answer`` cites as ``[id]`` (or ``[id1, id2]``), in citing order."""
    known = {p.id for p in passages}
    cited: list[str] = []
    for group in _CITATION.findall(answer):
        for item in group.split(","):
            if (item := item.strip()) in known and item not in cited:
                cited.append(item)
    return cited


def format_passages(passages: Iterable[Passage]) -> str:
    """``[id] text`` per line: how passages are shown to a model (and cited back)."""
    return "\n".join(f"[{p.id}] {' '.join(p.text.split())}" for p in passages)
