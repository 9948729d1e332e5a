"""Fixed, random, BM25 and token-budget selectors, and their composition."""

from __future__ import annotations

import pytest

from promptlab.backends.mock import mock_tokenize
from promptlab.errors import ConfigError
from promptlab.prompts.fewshot import (
    BM25Selector,
    Example,
    FixedSelector,
    RandomSelector,
    TokenBudgetSelector,
    qa_format,
)

POOL = [
    Example(question="There are 15 trees in the grove. How many trees did the workers plant?", answer="6"),
    Example(question="If there are 3 cars in the parking lot and 2 more cars arrive, how many cars?", answer="5"),
    Example(question="Leah had 32 chocolates and her sister had 42. How many are left?", answer="39"),
    Example(question="Jason had 20 lollipops. He gave Denny some lollipops.", answer="8"),
    Example(question="Shawn has five toys. For Christmas he got two toys each from his mom and dad.", answer="9"),
    Example(question="Olivia has $23. She bought five bagels for $3 each.", answer="8"),
]


def count_tokens(text: str) -> int:
    return len(mock_tokenize(text))


def test_fixed_takes_the_first_k_in_pool_order() -> None:
    selector = FixedSelector(POOL, k=3)
    assert selector.select("anything") == POOL[:3]
    assert selector.select("anything", k=1) == POOL[:1]
    assert selector.select("anything", k=0) == []
    assert FixedSelector(POOL).select("q") == POOL


def test_random_is_reproducible_and_varies_with_seed_and_query() -> None:
    selector = RandomSelector(POOL, k=3, seed=1)
    first = selector.select("question A")
    assert first == RandomSelector(POOL, k=3, seed=1).select("question A")
    assert len(first) == 3 and len({e.question for e in first}) == 3
    assert all(e in POOL for e in first)
    by_query = {tuple(e.answer for e in selector.select(f"question {i}")) for i in range(10)}
    by_seed = {tuple(e.question for e in RandomSelector(POOL, k=3, seed=s).select("question A")) for s in range(10)}
    assert len(by_query) > 1 and len(by_seed) > 1


def test_random_without_per_query_draws_the_same_sample_for_every_query() -> None:
    selector = RandomSelector(POOL, k=2, seed=7, per_query=False)
    assert selector.select("one") == selector.select("two")
    assert len(RandomSelector(POOL, k=50, seed=0).select("q")) == len(POOL)


def test_bm25_ranks_by_term_overlap_and_falls_back_to_pool_order() -> None:
    selector = BM25Selector(POOL, k=2)
    assert selector.select("How many cars are in the parking lot?")[0].answer == "5"
    assert selector.select("Olivia spent money on bagels")[0].answer == "8"
    # no shared terms (or only stopwords): every score ties, pool order wins
    assert selector.select("zebra xylophone") == POOL[:2]
    assert selector.select("the of and") == POOL[:2]


def test_token_budget_keeps_what_fits_in_inner_order() -> None:
    sizes = [count_tokens(qa_format(e)) for e in POOL]
    budget = sizes[0] + sizes[2]
    selector = TokenBudgetSelector(POOL, budget=budget, count_tokens=count_tokens)
    chosen = selector.select("q")
    assert sum(count_tokens(qa_format(e)) for e in chosen) <= budget
    assert chosen[:1] == POOL[:1]
    assert TokenBudgetSelector(POOL, budget=0, count_tokens=count_tokens).select("q") == []
    assert TokenBudgetSelector(POOL, budget=10**6, count_tokens=count_tokens, k=2).select("q") == POOL[:2]


def test_token_budget_skips_an_example_too_large_and_takes_smaller_ones() -> None:
    big = Example(question="word " * 200, answer="1")
    small = Example(question="tiny", answer="2")
    selector = TokenBudgetSelector([big, small], budget=20, count_tokens=count_tokens)
    assert selector.select("q") == [small]


def test_token_budget_counts_each_example_once() -> None:
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return count_tokens(text)

    selector = TokenBudgetSelector(POOL, budget=10**6, count_tokens=counting)
    selector.select("a")
    selector.select("b")
    assert len(calls) == len(POOL)


def test_composition_similarity_then_budget_is_deterministic() -> None:
    ranked = BM25Selector(POOL)
    formatter = lambda e: f"Question: {e.question}\nAnswer: {e.answer}\n"  # noqa: E731
    budget = sum(count_tokens(formatter(e)) for e in ranked.select("cars lollipops")[:2])
    composed = TokenBudgetSelector(ranked, budget=budget, count_tokens=count_tokens, formatter=formatter)
    chosen = composed.select("cars lollipops")
    assert [e.answer for e in chosen] == [e.answer for e in ranked.select("cars lollipops")[:2]]
    assert {e.answer for e in chosen} == {"5", "8"}
    assert chosen == composed.select("cars lollipops")


@pytest.mark.parametrize("make", [
    lambda: FixedSelector([]),
    lambda: FixedSelector(POOL, k=-1),
    lambda: TokenBudgetSelector(POOL, budget=-5, count_tokens=count_tokens),
])
def test_bad_parameters_raise_config_error(make: object) -> None:
    with pytest.raises(ConfigError):
        make()  # type: ignore[operator]
