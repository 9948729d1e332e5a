"""Stops under a constraint: a stop ends the text only where the text before it satisfies the constraint."""

from __future__ import annotations

from promptlab.config import GenerationConfig
from promptlab.constraints import Regex
from promptlab.stopping import StopMatcher, find_stop, stop_acceptor

DIGITS_THEN_DOT = Regex(pattern=r"[0-9]+\.")


def test_find_stop_skips_occurrences_where_the_constraint_is_not_satisfied() -> None:
    accept = DIGITS_THEN_DOT.check
    assert find_stop("12.x34.", ["."], accept).stop is None  # "12" and "12.x34" do not match
    match = find_stop("12.x34..", ["."], lambda text: text == "12.x34.")
    assert (match.text, match.stop) == ("12.x34.", ".")
    assert find_stop("12.x", ["."]).text == "12"  # without a constraint: the first occurrence


def test_stop_matcher_emits_a_rejected_stop_as_text_and_fires_later() -> None:
    config = GenerationConfig(stop=["\n"], constraint=Regex(pattern=r"a\nb\nc"))
    matcher = StopMatcher.of(config)
    out = "".join(matcher.feed(chunk) for chunk in ["a", "\n", "b", "\n", "c", "\n", "ignored"])
    assert (out, matcher.stop) == ("a\nb\nc", "\n")


def test_stop_matcher_without_an_acceptable_stop_keeps_everything() -> None:
    matcher = StopMatcher.of(GenerationConfig(stop=["."], constraint=DIGITS_THEN_DOT))
    out = "".join(matcher.feed(chunk) for chunk in ["1", ".", "2"]) + matcher.flush()
    assert (out, matcher.stop) == ("1.2", None)


def test_no_acceptor_without_constraint_or_stops() -> None:
    assert stop_acceptor(GenerationConfig(stop=["."])) is None
    assert stop_acceptor(GenerationConfig(constraint=DIGITS_THEN_DOT)) is None
