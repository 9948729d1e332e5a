"""Stop sequences: one implementation shared by every backend.

Stops are matched on decoded text, so a stop string split across several tokens
is still found. The matched stop and everything after it are trimmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["StopMatch", "StopMatcher", "find_stop"]


@dataclass(frozen=True)
class StopMatch:
    """Where generated text ends: the text before the stop, and which stop fired."""

    text: str
    stop: str | None


def find_stop(text: str, stops: Sequence[str]) -> StopMatch:
    """Cut ``text`` at the earliest occurrence of any stop (the longest on a tie)."""
    best_at, best_stop = -1, None
    for stop in stops:
        at = text.find(stop)
        if at != -1 and (best_at == -1 or at < best_at or (at == best_at and len(stop) > len(best_stop or ""))):
            best_at, best_stop = at, stop
    if best_stop is None:
        return StopMatch(text, None)
    return StopMatch(text[:best_at], best_stop)


class StopMatcher:
    """Incremental stop detection over a stream of decoded text chunks.

    ``feed`` returns the text that is safe to emit: text that can no longer become
    part of a stop string. A possible partial stop at the end is held back until
    the next chunk decides it. ``flush`` releases what is held back at the end.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(stops)
        self._pending = ""
        self.stop: str | None = None

    @property
    def stopped(self) -> bool:
        """Whether a stop string has fired."""
        return self.stop is not None

    def feed(self, chunk: str) -> str:
        """Add newly decoded text; return the part that can be emitted now."""
        if self.stopped:
            return ""
        self._pending += chunk
        match = find_stop(self._pending, self._stops)
        if match.stop is not None:
            self.stop = match.stop
            self._pending = ""
            return match.text
        hold = self._held_suffix_length(self._pending)
        emit = self._pending[: len(self._pending) - hold]
        self._pending = self._pending[len(self._pending) - hold :]
        return emit

    def flush(self) -> str:
        """Release the held-back text once generation has ended without a stop."""
        rest, self._pending = self._pending, ""
        return rest

    def _held_suffix_length(self, text: str) -> int:
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:size]):
                    longest = size
                    break
        return longest
