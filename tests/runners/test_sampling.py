"""Self-consistency plans: the greedy vote, adaptive rounds, stopping rules, ties and failed votes."""

from __future__ import annotations

import pytest

from promptlab.backends.mock import MockBackend
from promptlab.config import GenerationConfig
from promptlab.errors import ConfigError
from promptlab.runners import Adaptive, ChainOfThoughtRunner, DirectRunner, PALRunner, SamplingPlan
from promptlab.runners._sampling import Ballot


class ConfigLog(MockBackend):
    """A mock that also keeps the config of every call."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.configs: list[GenerationConfig] = []

    def _generate(self, prompt: str, config: GenerationConfig):  # type: ignore[no-untyped-def]
        self.configs.append(config)
        return super()._generate(prompt, config)


def says(*answers: str) -> list[str]:
    return [f"The answer is {a}." if a else "I do not know." for a in answers]


def ballots(*answers: str | None) -> list[Ballot]:
    return [Ballot(answer) for answer in answers]


@pytest.mark.parametrize(("answers", "remaining", "expected"), [
    (["4", "4"], 2, "decided"),            # two more "5"s would tie, and ties go to the first seen
    (["4", "5"], 1, None),                 # one more "5" wins
    (["5", "4", "4"], 1, None),            # one more "5" ties, and "5" was seen first
    (["4", "4", "5"], 1, "decided"),
    (["4", "5"], 0, "decided"),
    ([None, None], 4, None),
    (["4", None, "4", "4"], 3, "decided"),  # a new answer would tie at 3 at best, and it was seen later
    (["4", None, "4", "4"], 4, None),
])
def test_the_leader_is_decided_only_when_it_cannot_be_overtaken(
        answers: list[str | None], remaining: int, expected: str | None) -> None:
    assert Adaptive(confidence=None).stop_reason(ballots(*answers), remaining) == expected


def test_confidence_stops_once_the_leader_holds_its_share() -> None:
    rule = Adaptive()  # the default: confidence 0.6 once 3 votes are in
    assert rule.stop_reason(ballots(*["4", "4"]), 6) is None  # fewer than min_votes
    assert rule.stop_reason(ballots(*["4", "4", "5"]), 5) == "confident"
    assert rule.stop_reason(ballots(*["4", "5", "6"]), 5) is None


def test_weighted_votes_decide_on_weight_and_future_ballots_count_at_most_one() -> None:
    rule = Adaptive(confidence=None)
    light = [Ballot("4", weight=0.25), Ballot("4", weight=0.25), Ballot("5")]
    assert rule.stop_reason(light, 0) == "decided"   # 5 outweighs the two 4s: 1 against 0.5
    assert rule.stop_reason(light, 1) is None        # one more 4 could bring it to 1.5
    assert Adaptive().stop_reason(light, 5) is None  # 1 of 3 votes' weight: not confident


def test_a_grounded_leader_stops_before_min_votes() -> None:
    grounded = [Ballot("6", grounded=True)]
    assert Adaptive().stop_reason(grounded, 7) == "grounded"
    assert Adaptive(trust_grounded=False).stop_reason(grounded, 7) is None
    assert Adaptive(confidence=None).stop_reason(grounded, 7) is None  # no share rule, no early stop
    split = [Ballot("6", grounded=True), Ballot("7", grounded=True), Ballot("8", weight=0.25)]
    assert Adaptive(min_votes=5).stop_reason(split, 5) is None  # 1 of 3: short of the 0.6 share
    with pytest.raises(ConfigError, match="trust_grounded"):
        Adaptive(trust_grounded="yes")  # type: ignore[arg-type]


def test_scattered_votes_stop_once_enough_are_in_and_none_repeats() -> None:
    rule = Adaptive(scattered_after=3)
    assert rule.stop_reason(ballots(*["4", "5"]), 6) is None            # too few votes to call it noise
    assert rule.stop_reason(ballots(*["4", "5", "6"]), 5) == "scattered"
    assert rule.stop_reason(ballots(*["4", None, None]), 5) == "scattered"  # failed samples are no evidence either
    assert rule.stop_reason(ballots(*["4", "5", "5", "6", "7"]), 3) is None  # one answer repeats: keep sampling
    assert Adaptive().stop_reason(ballots(*["4", "5", "6"]), 5) is None   # off by default
    heavy_first = [Ballot("4", grounded=True), Ballot("5", weight=0.25), Ballot("5", weight=0.25)]
    assert rule.stop_reason(heavy_first, 5) is None  # 5 came up twice, though 4 leads on weight


def test_a_scattered_vote_falls_back_to_the_greedy_answer() -> None:
    backend = ConfigLog(says("7", "8", "9", "8", "8", "8", "8", "8"))
    result = ChainOfThoughtRunner(backend, n=8, greedy_vote=True, adaptive={"scattered_after": 3}).run("q")
    assert (result.answer, result.samples) == ("7", 3)
    assert result.trace.steps[-1].data["stopped"] == {"reason": "scattered", "budget": 8}
    assert "scattered after 3" in SamplingPlan.of(8, True, {"scattered_after": 3}).describe()


def test_scattered_after_needs_two_votes() -> None:
    with pytest.raises(ConfigError, match="scattered_after must be at least 2"):
        Adaptive(scattered_after=1)


def test_adaptive_rounds_stop_early_and_say_why() -> None:
    backend = ConfigLog(says("4", "4", "4", "4", "9", "9", "9", "9"))
    result = ChainOfThoughtRunner(backend, n=8, adaptive={"confidence": None}, seed=10).run("q")
    assert (result.answer, result.samples) == ("4", 4)
    assert [c.n for c in backend.configs] == [2, 2]
    assert [c.seed for c in backend.configs] == [10, 12]  # the seeds one batched call would use
    vote = result.trace.steps[-1]
    assert vote.data["stopped"] == {"reason": "decided", "budget": 8}
    assert [s.data["sample"] for s in result.trace.steps if s.kind == "generate"] == [0, 1, 2, 3]


def test_adaptive_rounds_run_to_the_budget_when_the_vote_stays_open() -> None:
    result = ChainOfThoughtRunner(MockBackend(says("1", "2", "3", "4")), n=4, adaptive={"round_size": 1}).run("q")
    assert result.samples == 4 and result.answer == "1"
    assert "stopped" not in result.trace.steps[-1].data


def test_an_adaptive_plan_checks_the_greedy_vote_before_sampling() -> None:
    backend = ConfigLog(says("7", "8"))
    result = ChainOfThoughtRunner(backend, n=2, greedy_vote=True, adaptive=True).run("q")
    assert (result.answer, result.samples, len(backend.configs)) == ("7", 1, 1)  # one more vote could only tie
    assert result.trace.steps[-1].data["stopped"] == {"reason": "decided", "budget": 2}


def test_unseeded_rounds_after_the_first_get_fresh_seeds() -> None:
    backend = ConfigLog(says("1", "2", "3", "4", "5", "6"))
    ChainOfThoughtRunner(backend, n=6, adaptive={"confidence": None}).run("q")
    first, *later = [c.seed for c in backend.configs]
    assert first is None  # the backend's own seed, or fresh randomness
    assert len(later) == 2 and all(seed is not None for seed in later) and later[0] != later[1]


def test_unseeded_samples_drawn_one_call_each_get_different_seeds() -> None:
    from promptlab.runners._sampling import one_sample_configs

    seeds = [c.seed for c in one_sample_configs(GenerationConfig(n=3, temperature=0.5))]
    assert seeds[0] is None and None not in seeds[1:] and seeds[1] != seeds[2]
    assert [c.seed for c in one_sample_configs(GenerationConfig(n=3, temperature=0.5, seed=7))] == [7, 8, 9]


def test_beam_search_given_as_an_option_gets_no_sampling_temperature() -> None:
    runner = ChainOfThoughtRunner(MockBackend(), n=2, num_beams=4)
    assert (runner.config.temperature, runner.config.num_beams) == (0.0, 4)


def test_greedy_vote_is_the_first_sample() -> None:
    backend = ConfigLog(says("7", "8", "7"))
    result = ChainOfThoughtRunner(backend, n=3, greedy_vote=True, seed=0).run("q")
    first, rest = backend.configs
    assert (first.n, first.sampling) == (1, False)
    assert (rest.n, rest.sampling, rest.seed) == (2, True, 1)
    assert result.answer == "7" and result.samples == 3
    assert result.trace.steps[0].data["greedy"] is True


def test_a_tie_is_broken_by_the_first_sample_and_reported() -> None:
    result = ChainOfThoughtRunner(MockBackend(says("5", "6", "6", "5")), n=4).run("q")
    assert result.answer == "5"
    assert result.detail is not None and "tie between 5, 6" in result.detail and "sampled first" in result.detail
    assert result.trace.steps[-1].data["tie"] == ["5", "6"]


def test_a_vote_without_answers_says_why_and_keeps_each_reason() -> None:
    backend = MockBackend(["def solution():\n    return 1 / 0", "no code here", "def solution():\n    return x"])
    result = PALRunner(backend, n=3, constrained=False).run("q")
    assert (result.answer, result.status) == (None, "sandbox_error")
    assert result.detail is not None and "none of the 3 samples" in result.detail
    assert "2 sandbox_error, 1 no_code" in result.detail
    reasons = result.trace.steps[-1].data["reasons"]
    assert "ZeroDivisionError" in reasons[0] and "no Python code" in reasons[1] and "NameError" in reasons[2]


def test_cot_samples_without_a_number_record_the_reason() -> None:
    result = ChainOfThoughtRunner(MockBackend(says("", "")), n=2).run("q")
    assert (result.answer, result.status) == (None, "no_answer")
    assert result.detail is not None and "2 no_answer" in result.detail
    step = result.trace.steps[0]
    assert step.data["status"] == "no_answer" and "states no number" in step.data["reason"]


def test_one_sample_reports_its_own_reason() -> None:
    result = DirectRunner(MockBackend(["  "])).run("q")
    assert (result.status, result.detail, result.samples) == ("no_answer", "the completion is empty", 1)


@pytest.mark.parametrize(("adaptive", "message"), [
    ({"round": 2}, "unexpected keyword"), ({"round_size": 0}, "round_size"), ({"confidence": 0.2}, "confidence"),
])
def test_bad_adaptive_settings_are_config_errors(adaptive: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SamplingPlan.of(8, adaptive=adaptive)


def test_one_sample_needs_no_plan() -> None:
    assert SamplingPlan.of(1, greedy_vote=True, adaptive=True) == SamplingPlan(1)


@pytest.mark.slow
def test_adaptive_hybrid_with_greedy_votes_on_the_embedded_model(llamacpp_backend: object) -> None:
    from promptlab.runners import HybridRunner

    # PAL leads: its greedy answer alone never settles a vote of 4, so both greedy votes are cast (with
    # CoT leading, a grounded greedy rationale may end the vote at once: tested on the mock backend).
    runner = HybridRunner(llamacpp_backend, n=4, lead="pal", greedy_vote=True, adaptive=True,  # type: ignore[arg-type]
                          seed=0, max_new_tokens=96)
    result = runner.run("Tom has 5 apples and buys 7 more apples. How many apples does he have now?")
    vote = result.trace.steps[-1]
    assert vote.kind == "vote" and vote.data["samples"] == result.samples
    assert 2 <= result.samples <= 4 and len(vote.data["answers"]) == result.samples
    assert vote.data["sources"][:2] == ["pal", "cot"]  # the two greedy votes come first
    assert result.answer is not None or result.detail is not None
