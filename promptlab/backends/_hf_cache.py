"""Prefix KV-cache reuse between calls for the transformers backend.

Multi-step agents resend a prompt that grew by a few tokens. :class:`PrefixCache`
keeps the KV cache of the last call (prompt and generated tokens, one row), and on
the next call crops it to the longest common token prefix, so only the new tokens
are encoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transformers import DynamicCache


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Number of leading tokens ``a`` and ``b`` share."""
    size = min(len(a), len(b))
    for i in range(size):
        if a[i] != b[i]:
            return i
    return size


def truncate(cache: DynamicCache, length: int) -> None:
    """Keep the first ``length`` positions of every layer (negative ``crop`` works on transformers 4.x and 5.x)."""
    excess = cache.get_seq_length() - length
    if excess > 0:
        cache.crop(-excess)


class PrefixCache:
    """Holds one batch-1 ``DynamicCache`` and the token ids it encodes.

    ``take`` hands the cache over (cropped to the part the new prompt shares) and
    forgets it, so a call that fails half-way never leaves a corrupt cache behind;
    ``keep`` stores the cache the call ended with. ``key`` tells apart states that
    give different keys and values for the same tokens (the active LoRA adapter).
    """

    def __init__(self, model_config: Any, *, enabled: bool = True) -> None:
        self._model_config = model_config
        self.enabled = enabled
        self._cache: DynamicCache | None = None
        self._tokens: list[int] = []
        self._key: object = None
        self._shareable: bool | None = None

    def take(self, tokens: Sequence[int], key: object = None) -> tuple[DynamicCache, int]:
        """A cache holding the first ``reused`` of ``tokens``, and ``reused``.

        At least the last prompt token is always left to encode: its logits choose
        the first new token.
        """
        cache, cached, cached_key = self._cache, self._tokens, self._key
        self.clear()
        if cache is None or cached_key != key or not _croppable(cache):
            return self.fresh(), 0
        reused = min(common_prefix_length(cached, tokens), len(tokens) - 1)
        if reused <= 0:
            return self.fresh(), 0
        truncate(cache, reused)
        return cache, reused

    def keep(self, cache: DynamicCache, tokens: Sequence[int], key: object = None) -> None:
        """Remember ``cache`` (one row) as encoding ``tokens``; dropped when reuse is off."""
        if self.enabled:
            self._cache, self._tokens, self._key = cache, list(tokens), key

    def clear(self) -> None:
        """Forget the cached prefix (frees its memory)."""
        self._cache, self._tokens, self._key = None, [], None

    def fresh(self) -> DynamicCache:
        """An empty cache laid out for this model."""
        return DynamicCache(config=self._model_config)

    @property
    def shareable(self) -> bool:
        """Whether a prefix can be encoded once for several rows and cut back afterwards: reuse is on and
        the model's cache can be cropped (no sliding-window or linear-attention layers)."""
        if self._shareable is None:
            self._shareable = _croppable(self.fresh())
        return self.enabled and self._shareable

    @property
    def cached_tokens(self) -> int:
        """How many tokens the kept cache holds."""
        return len(self._tokens)


def _croppable(cache: DynamicCache) -> bool:
    # Sliding-window and linear-attention layers drop old positions: cropping
    # those would not give back the prefix's exact state.
    return bool(getattr(cache, "is_croppable", True)) and not any(getattr(cache, "is_sliding", ()))
