"""Stop sequences: one implementation shared by every backend.

Stops are matched on decoded text, so a stop string split across several tokens
is still found. The matched stop and everything after it are trimmed.

Under a constraint (``GenerationConfig.constraint``) a stop ends the completion only
where the text before it satisfies the constraint: an occurrence earlier than that is
ordinary text. So a completion that ends with a stop, like one that ends at end of
sequence, always matches its constraint; only a ``"length"`` cut leaves it incomplete.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from promptlab.config import GenerationConfig

Accept = Callable[[str], bool]
"""Whether a stop may end the text here: called with the text before the stop."""

__all__ = ["Accept", "StopMatch", "StopMatcher", "find_stop", "stop_acceptor"]


@dataclass(frozen=True)
class StopMatch:
    """Where generated text ends: the text before the stop, and which stop fired."""

    text: str
    stop: str | None


def find_stop(text: str, stops: Sequence[str], accept: Accept | None = None) -> StopMatch:
    """Cut ``text`` at the earliest occurrence of any stop (the longest on a tie).

    With ``accept``, only at an occurrence where ``accept(text before it)`` holds.
    """
    start = 0
    while (found := _earliest(text, stops, start)) is not None:
        at, stop = found
        if accept is None or accept(text[:at]):
            return StopMatch(text[:at], stop)
        start = at + 1
    return StopMatch(text, None)


def stop_acceptor(config: GenerationConfig) -> Accept | None:
    """Where a stop may end text under ``config``: anywhere (None), or where its constraint is satisfied.

    The answer for each text is remembered, so re-scanning a growing text costs one check per occurrence.
    """
    if config.constraint is None or not config.stop:
        return None
    return functools.lru_cache(maxsize=256)(config.constraint.check)


def _earliest(text: str, stops: Sequence[str], start: int) -> tuple[int, str] | None:
    best_at, best_stop = -1, None
    for stop in stops:
        at = text.find(stop, start)
        if at != -1 and (best_at == -1 or at < best_at or (at == best_at and len(stop) > len(best_stop or ""))):
            best_at, best_stop = at, stop
    return None if best_stop is None else (best_at, best_stop)


class StopMatcher:
    """Incremental stop detection over a stream of decoded text chunks.

    ``feed`` returns the text that is safe to emit: text that can no longer become
    part of a stop string. A possible partial stop at the end is held back until
    the next chunk decides it. ``flush`` releases what is held back at the end.
    """

    def __init__(self, stops: Sequence[str], accept: Accept | None = None) -> None:
        self._stops = tuple(stops)
        self._accept = accept
        self._pending = ""
        self._emitted = ""
        self.stop: str | None = None

    @classmethod
    def of(cls, config: GenerationConfig) -> StopMatcher:
        """The matcher for ``config``'s stops (and its constraint: see the module docstring)."""
        return cls(config.stop, stop_acceptor(config))

    @property
    def stopped(self) -> bool:
        """Whether a stop string has fired."""
        return self.stop is not None

    def feed(self, chunk: str) -> str:
        """Add newly decoded text; return the part that can be emitted now."""
        if self.stop is not None:
            return ""
        pending = self._pending + chunk
        accept = self._accept
        if accept is None:
            found = _earliest(pending, self._stops, 0)
            if found is not None:
                self.stop, self._pending = found[1], ""
                return pending[: found[0]]
        else:
            emitted = self._emitted
            match = find_stop(pending, self._stops, lambda t: accept(emitted + t))
            if match.stop is not None:
                self.stop, self._pending = match.stop, ""
                return self._emit(match.text)
        keep = len(pending) - self._held_suffix_length(pending)
        self._pending = pending[keep:]
        return self._emit(pending[:keep])

    def flush(self) -> str:
        """Release the held-back text once generation has ended without a stop."""
        rest, self._pending = self._pending, ""
        return self._emit(rest)

    def _emit(self, text: str) -> str:
        if self._accept is not None:
            self._emitted += text
        return text

    def _held_suffix_length(self, text: str) -> int:
        """The length of the longest end of ``text`` that is the start of a stop (a stop may still complete)."""
        longest, size = 0, len(text)
        for stop in self._stops:
            at = text.find(stop[0], max(size - len(stop) + 1, 0)) if stop else -1
            while at != -1 and size - at > longest:
                if stop.startswith(text[at:]):
                    longest = size - at
                    break
                at = text.find(stop[0], at + 1)
        return longest
