"""Few-shot examples and the selectors that choose them for a query."""

from promptlab.prompts.fewshot.examples import Example, as_examples, load_examples
from promptlab.prompts.fewshot.selectors import (
    BM25Selector,
    ExampleSelector,
    FixedSelector,
    PoolSelector,
    RandomSelector,
    TokenBudgetSelector,
    qa_format,
)
from promptlab.prompts.fewshot.semantic import (
    MMRSelector,
    SentenceEmbedder,
    SimilaritySelector,
    default_embedding_model_path,
)

__all__ = [
    "BM25Selector",
    "Example",
    "ExampleSelector",
    "FixedSelector",
    "MMRSelector",
    "PoolSelector",
    "RandomSelector",
    "SentenceEmbedder",
    "SimilaritySelector",
    "TokenBudgetSelector",
    "as_examples",
    "default_embedding_model_path",
    "load_examples",
    "qa_format",
]
