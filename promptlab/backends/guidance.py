"""Token masks for constrained decoding: a Constraint plus a model's vocabulary, with llguidance.

One :class:`TokenMasks` per backend holds the model's vocabulary as llguidance reads it
(building it costs about a second, so it is built once, on the first constrained call);
:meth:`TokenMasks.sequence` gives each decoded sequence its own :class:`SequenceMask`,
which says which tokens may come next and is fed every token produced.

The engines apply a mask to the logits before sampling (so temperature, top-k, top-p and
penalties see only allowed tokens), feed the sampled token with :meth:`SequenceMask.advance`,
and end the sequence with finish reason ``"eos"`` once :attr:`SequenceMask.done` (the
constraint is complete and allows nothing more). End-of-sequence tokens are allowed exactly
where the constraint is satisfied.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from promptlab.constraints import Constraint
from promptlab.errors import BackendError, ConfigError

if TYPE_CHECKING:
    from llguidance import LLMatcher, LLTokenizer

__all__ = ["SequenceMask", "TokenMasks"]

BoolArray = NDArray[np.bool_]

_WORKERS = min(os.cpu_count() or 2, 4)
_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _submit(compute: Callable[[], None]) -> Future[None] | None:
    """Run ``compute`` on the mask worker threads (started on first use, in this process); None when the
    interpreter is shutting down, and the mask is then computed when it is needed."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="promptlab-mask")
        worker = _worker
    try:
        return worker.submit(compute)
    except RuntimeError:  # cannot schedule new futures after interpreter shutdown
        return None


def _forget_worker_in_child() -> None:
    """A forked child has none of the parent's threads: it starts its own worker when it needs one."""
    global _worker, _worker_lock
    _worker, _worker_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_worker_in_child)


class TokenMasks:
    """A model's vocabulary for llguidance, built lazily once; hands out per-sequence masks."""

    def __init__(self, build: Callable[[], LLTokenizer]) -> None:
        self._build = build
        self._tokenizer: LLTokenizer | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_llamacpp(cls, vocab: Any, eos: Sequence[int]) -> TokenMasks:
        """From a llama.cpp ``llama_vocab`` pointer; ``eos``: every end-of-generation token id."""

        def build() -> LLTokenizer:
            from llguidance.llamacpp import lltokenizer_from_vocab

            with warnings.catch_warnings():  # it calls a llama.cpp function deprecated in name only, per token
                warnings.simplefilter("ignore", DeprecationWarning)
                return lltokenizer_from_vocab(vocab, eos_token=list(eos))

        return cls(build)

    @classmethod
    def for_hf(cls, tokenizer: Any, eos: Collection[int]) -> TokenMasks:
        """From a fast transformers tokenizer; ``eos``: every token id that ends generation."""

        def build() -> LLTokenizer:
            from llguidance.hf import from_tokenizer

            try:
                return from_tokenizer(tokenizer, eos_token=sorted(eos))
            except (ValueError, RuntimeError) as exc:  # slow (Python) tokenizers, unknown decoder types
                raise BackendError(
                    f"this model's tokenizer cannot be read by llguidance, so constraints cannot be applied: {exc}"
                ) from None

        return cls(build)

    @property
    def tokenizer(self) -> LLTokenizer:
        """The llguidance tokenizer (built on first use)."""
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = self._build()
            return self._tokenizer

    def sequence(self, constraint: Constraint) -> SequenceMask:
        """A fresh mask state for one sequence decoded under ``constraint``."""
        from llguidance import LLMatcher

        matcher = LLMatcher(self.tokenizer, constraint.to_llguidance(), log_level=0)
        if matcher.is_error():
            raise ConfigError(f"{constraint.describe()} cannot be applied to this model: {matcher.get_error()}")
        return SequenceMask(matcher, self.tokenizer.vocab_size)

    def sequences(self, constraint: Constraint, n: int) -> list[SequenceMask]:
        """``n`` independent mask states (the grammar is compiled once)."""
        first = self.sequence(constraint)
        return [first] + [first.fork() for _ in range(n - 1)]


class SequenceMask:
    """One sequence's constraint state: which tokens may come next; fed each token produced.

    After :meth:`advance` the next mask is computed on a background thread, so that it overlaps
    the engine's forward pass for the token just fed (as vLLM and SGLang overlap theirs); a
    method that needs the matcher waits for it first.
    """

    def __init__(self, matcher: LLMatcher, vocab_size: int) -> None:
        self._matcher = matcher
        self.vocab_size = vocab_size
        self._bits = np.zeros((vocab_size + 31) // 32, dtype=np.int32)
        self._next: Future[None] | None = None
        self._ready = False
        """``_bits`` hold the mask of the current state."""
        self._stopped = bool(matcher.is_stopped())

    def fork(self) -> SequenceMask:
        """An independent copy of this state (a beam or sample that branches off here)."""
        self._settle()
        return SequenceMask(self._matcher.deep_copy(), self.vocab_size)

    @property
    def done(self) -> bool:
        """The constraint is complete and allows nothing but end-of-sequence."""
        return self._stopped

    @property
    def accepting(self) -> bool:
        """The text so far satisfies the constraint (generation may end here)."""
        self._settle()
        return bool(self._matcher.is_accepting())

    def blocked(self) -> BoolArray:
        """One bool per vocabulary token: True where the token may not come next."""
        self._settle()
        if not self._ready:
            self._compute()
        self._raise_if_error()
        bits = np.unpackbits(self._bits.view(np.uint8), bitorder="little")[: self.vocab_size]
        blocked: BoolArray = bits == 0
        return blocked

    def apply(self, logits: NDArray[np.floating[Any]]) -> NDArray[np.floating[Any]]:
        """Set the logits of blocked tokens to -inf, in place (a strided view is fine); returns ``logits``.

        Logits beyond the tokenizer's vocabulary (padding rows of an output layer) are blocked too.
        """
        blocked = self.blocked()
        width = min(len(logits), self.vocab_size)
        np.copyto(logits[:width], -np.inf, where=blocked[:width])
        logits[width:] = -np.inf
        return logits

    def advance(self, token: int) -> None:
        """Feed the token the engine produced; an end-of-sequence token ends the constraint."""
        self._settle()
        self._ready = False
        if not self._matcher.consume_token(token):
            self._raise_if_error()
        self._stopped = bool(self._matcher.is_stopped())
        if not self._stopped:
            self._next = _submit(self._compute)

    def _compute(self) -> None:
        self._matcher.unsafe_compute_mask_ptr(self._bits.ctypes.data, self._bits.nbytes)
        self._ready = True

    def _settle(self) -> None:
        """Wait for a mask being computed in the background (the matcher is not shared while it runs)."""
        pending, self._next = self._next, None
        if pending is None:
            return
        try:
            pending.result()
        except Exception as exc:
            raise BackendError(f"constrained decoding failed while computing a token mask: {exc}") from exc

    def _raise_if_error(self) -> None:
        if self._matcher.is_error():
            raise BackendError(
                f"constrained decoding failed: {self._matcher.get_error().splitlines()[0]} "
                "(the engine produced a token outside the mask, or the grammar hit an llguidance limit)"
            )
