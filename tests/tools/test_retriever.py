"""Retrieval: BM25 over local documents, or any search function, as a tool with passage ids."""

from __future__ import annotations

import pytest

from promptlab.errors import ToolError
from promptlab.tools import BM25Index, Passage, Retriever, cited_ids, format_passages

DOCS = {
    "paris": "Paris is the capital and largest city of France.",
    "berlin": "Berlin is the capital of Germany and its largest city.",
    "orogeny": "The Colorado orogeny was an episode of mountain building in Colorado.",
    "plains": "The High Plains rise in elevation from around 1,800 to 7,000 ft.",
}


def test_bm25_ranks_by_shared_terms_and_keeps_ids() -> None:
    index = BM25Index(DOCS)
    found = index.search("capital of Germany", k=2)
    assert [p.id for p in found] == ["berlin", "paris"]
    assert found[0].score is not None and found[1].score is not None and found[0].score > found[1].score > 0
    assert index.search("mountain building", k=3)[0].id == "orogeny"
    assert index.search("zebra quantum") == []
    assert index.search("the of and") == []  # only stop words


def test_documents_in_several_shapes() -> None:
    index = BM25Index(["alpha beta", ("x7", "gamma delta"), {"id": 9, "text": "beta gamma", "title": "T"},
                       Passage("p", "epsilon")])
    assert [p.id for p in index.passages] == ["0", "x7", "9", "p"]
    assert index.passages[2].metadata == {"title": "T"}
    with pytest.raises(ToolError, match="at least one document"):
        BM25Index([])
    with pytest.raises(ToolError, match="document 0"):
        BM25Index([42])  # type: ignore[list-item]


def test_retriever_tool_returns_cited_passages() -> None:
    retriever = Retriever.bm25(DOCS, k=2)
    observation = retriever.invoke("largest city of France")
    assert observation.text.splitlines()[0] == "[paris] Paris is the capital and largest city of France."
    assert [p.id for p in observation.data] == ["paris", "berlin"]
    assert retriever.invoke("zebra").text == "No passages found for 'zebra'."
    assert retriever.invoke("").kind == "invalid_arguments"
    assert retriever.timeout_s is None


def test_retriever_wraps_any_search_function() -> None:
    calls: list[str] = []

    def search(query: str) -> list[dict[str, str]]:
        calls.append(query)
        return [{"id": "a", "text": f"about {query}"}, {"id": "b", "text": "other"}, {"id": "c", "text": "third"}]

    retriever = Retriever(search, k=2, name="kb", description="Knowledge base.")
    assert [p.id for p in retriever.retrieve("cats")] == ["a", "b"]
    assert retriever.invoke("dogs").text == "[a] about dogs\n[b] other"
    assert calls == ["cats", "dogs"]
    assert retriever.json_schema()["function"]["name"] == "kb"


def test_a_failing_search_function_is_an_error_observation() -> None:
    def broken(query: str) -> list[str]:
        raise ConnectionError("vector store unreachable")

    observation = Retriever(broken).invoke("x")
    assert observation.kind == "error" and "vector store unreachable" in observation.text


def test_format_passages_flattens_whitespace() -> None:
    assert format_passages([Passage("1", "a\n b  c")]) == "[1] a b c"


def test_cited_ids_reads_bracketed_ids_of_known_passages() -> None:
    passages = [Passage("paris", "x"), Passage("2", "y"), Passage("berlin", "z")]
    answer = "Paris [paris] is larger than Bonn [2, berlin][paris] [unknown] [see above]."
    assert cited_ids(answer, passages) == ["paris", "2", "berlin"]
    assert cited_ids("No citations.", passages) == []
