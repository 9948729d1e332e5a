"""KvBook: which KV cells each llama.cpp sequence holds, and which token each cell holds.

llama.cpp's unified KV cache lets sequences share cells (``llama_memory_seq_cp`` tags the
same cells with one more sequence id), so a prompt evaluated once serves every sample and
every later request with the same prefix. The book mirrors those calls to know exactly how
many cells are in use (one cell shared by eight sequences counts once) and what token
prefix each sequence holds (to find the longest cached prefix of a new prompt).
"""

from __future__ import annotations

import itertools
from collections import Counter


class KvBook:
    """Cells per sequence, reference-counted across sequences that share them."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids = itertools.count()
        self._refs: Counter[int] = Counter()
        self._cells: dict[int, list[int]] = {}
        self._tokens: dict[int, list[int]] = {}

    @property
    def used(self) -> int:
        """Cells held by at least one sequence."""
        return len(self._refs)

    def tokens(self, seq: int) -> list[int]:
        """The tokens sequence ``seq`` holds, position by position (do not modify)."""
        return self._tokens.get(seq, [])

    def append(self, seq: int, tokens: list[int]) -> None:
        """``tokens`` were evaluated into ``seq`` after the ones it holds."""
        cells = [next(self._ids) for _ in tokens]
        self._refs.update(cells)
        self._cells.setdefault(seq, []).extend(cells)
        self._tokens.setdefault(seq, []).extend(tokens)

    def copy(self, source: int, target: int, length: int) -> None:
        """``target`` (empty) now shares the first ``length`` cells of ``source``."""
        cells = self._cells.get(source, [])[:length]
        self._refs.update(cells)
        self._cells[target] = cells
        self._tokens[target] = self._tokens.get(source, [])[:length]

    def truncate(self, seq: int, length: int) -> None:
        """``seq`` keeps only its first ``length`` cells (``0``: none)."""
        cells = self._cells.get(seq, [])
        self._refs.subtract(cells[length:])
        for cell in cells[length:]:
            if self._refs[cell] <= 0:
                del self._refs[cell]
        del cells[length:]
        del self._tokens.get(seq, [])[length:]
        if not cells:
            self._cells.pop(seq, None)
            self._tokens.pop(seq, None)


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length
