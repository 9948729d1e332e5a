"""Majority voting for self-consistency."""

from __future__ import annotations

from promptlab.runners.voting import majority_vote


def test_majority_wins_and_votes_are_ranked() -> None:
    vote = majority_vote(["5", "6", "6", None, "7"])
    assert vote.answer == "6"
    assert vote.votes == {"6": 2, "5": 1, "7": 1}
    assert list(vote.votes) == ["6", "5", "7"]
    assert vote.agreement == 2 / 5  # failed samples count against agreement


def test_tie_goes_to_the_first_seen() -> None:
    assert majority_vote(["b", "a", "a", "b"]).answer == "b"
    assert majority_vote(["a", "b", "b", "a"]).answer == "a"


def test_no_votes() -> None:
    assert majority_vote([None, None]).answer is None
    assert majority_vote([None, None]).agreement == 0.0
    assert majority_vote([]).agreement is None
