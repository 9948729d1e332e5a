"""Majority voting over sampled answers (self-consistency, Wang et al. 2022)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Vote", "majority_vote"]


@dataclass(frozen=True)
class Vote:
    """The winning answer, the count per answer (most votes first), and the winner's share."""

    answer: str | None
    votes: dict[str, int] = field(default_factory=dict)
    agreement: float | None = None
    """Winner's votes / all samples (failed samples count against it); None without samples."""


def majority_vote(answers: Sequence[str | None]) -> Vote:
    """Most common answer among the samples; None answers (failed samples) do not vote.

    A tie goes to the answer seen first, so the outcome never depends on hashing.
    """
    counts: dict[str, int] = {}
    for answer in answers:
        if answer is not None:
            counts[answer] = counts.get(answer, 0) + 1
    if not counts:
        return Vote(None, {}, 0.0 if answers else None)
    ranked = dict(sorted(counts.items(), key=lambda item: -item[1]))  # stable: ties stay first-seen
    winner = next(iter(ranked))
    return Vote(winner, ranked, ranked[winner] / len(answers))
