"""Majority voting over sampled answers (self-consistency, Wang et al. 2022), optionally weighted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Vote", "majority_vote"]


@dataclass(frozen=True)
class Vote:
    """The winning answer, the count per answer (winner first), the winner's share, and the weighted scores."""

    answer: str | None
    votes: dict[str, int] = field(default_factory=dict)
    agreement: float | None = None
    """Winner's votes / all samples (failed samples count against it); None without samples."""
    scores: dict[str, float] = field(default_factory=dict)
    """Each answer's summed weights (its count when unweighted), in the order of ``votes``."""


def majority_vote(answers: Sequence[str | None], weights: Sequence[float] | None = None) -> Vote:
    """The answer with the most votes (or, with ``weights``, the largest summed weight);
    None answers (failed samples) do not vote.

    A tie goes to the answer seen first, so the outcome never depends on hashing.
    """
    weights = [1.0] * len(answers) if weights is None else weights
    if len(weights) != len(answers):
        raise ValueError(f"{len(weights)} weights for {len(answers)} answers")
    if not all(0.0 <= weight < math.inf for weight in weights):  # also refuses NaN
        raise ValueError(f"weights must be finite and not negative, got {list(weights)}")
    counts: dict[str, int] = {}
    scores: dict[str, float] = {}
    for answer, weight in zip(answers, weights, strict=True):
        if answer is not None:
            counts[answer] = counts.get(answer, 0) + 1
            scores[answer] = round(scores.get(answer, 0.0) + weight, 9)  # 0.1 + 0.2 ties 0.3
    if not counts:
        return Vote(None, {}, 0.0 if answers else None)
    ranked = sorted(counts, key=lambda answer: -scores[answer])  # stable: ties stay first-seen
    winner = ranked[0]
    return Vote(winner, {a: counts[a] for a in ranked}, counts[winner] / len(answers), {a: scores[a] for a in ranked})
