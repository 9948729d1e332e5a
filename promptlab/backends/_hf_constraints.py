"""Constrained decoding for the transformers backend: one logits processor for every row.

Each row of ``model.generate`` (one of ``n`` samples, or a beam) gets the mask of its own
constraint state. States are keyed by the tokens generated so far, so beams that are
reordered, duplicated or dropped between steps find their parent's state (forked when
two beams branch from one parent); samples simply advance their own. Rows that already
ended (an end or pad token) are left alone. The processor runs before temperature, top-k
and top-p, so those see only allowed tokens.
"""

from __future__ import annotations

from collections import Counter

import torch
from transformers import LogitsProcessor

from promptlab.backends.guidance import SequenceMask, TokenMasks
from promptlab.constraints import Constraint

Key = tuple[int, ...]


class ConstraintLogits(LogitsProcessor):
    """Blocks, row by row, every token the row's constraint state does not allow next."""

    def __init__(self, masks: TokenMasks, constraint: Constraint, prompt_length: int, ends: frozenset[int]) -> None:
        self._states: dict[Key, SequenceMask] = {(): masks.sequence(constraint)}
        self._prompt_length = prompt_length
        self._ends = ends

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        keys = [tuple(row[self._prompt_length :]) for row in input_ids.tolist()]
        live = {key for key in keys if not self._ends.intersection(key)}
        children = Counter(key[:-1] for key in live if key not in self._states)
        states = {key: self._state(key, children) for key in live}
        for row, key in enumerate(keys):
            if key in states:
                blocked = torch.from_numpy(states[key].blocked()).to(scores.device)
                width = min(scores.shape[1], blocked.shape[0])
                scores[row, :width].masked_fill_(blocked[:width], float("-inf"))
                scores[row, width:] = float("-inf")
        self._states = states
        return scores

    def _state(self, key: Key, children: Counter[Key]) -> SequenceMask:
        """The state after ``key``: kept, or the parent's advanced by the last token (forked if it branches)."""
        if key in self._states:
            return self._states[key]
        parent = self._states[key[:-1]]
        state = parent.fork() if children[key[:-1]] > 1 else parent
        state.advance(key[-1])
        return state
