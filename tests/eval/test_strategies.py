import pytest

from promptlab.backends import MockBackend
from promptlab.errors import ConfigError
from promptlab.eval.harness import RunnerLike
from promptlab.eval.strategies import STRATEGIES, build_runner
from promptlab.runners import Adaptive, HybridRunner, SamplingPlan


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_builds_a_runner(name: str) -> None:
    runner = build_runner(name.upper(), MockBackend())
    assert isinstance(runner, RunnerLike)
    assert getattr(runner, "strategy", None) == name
    assert callable(getattr(runner, "arun", None))


def test_options_reach_the_runner() -> None:
    runner = build_runner("cot", MockBackend(), n=5, max_new_tokens=32)
    assert runner.config.n == 5 and runner.config.max_new_tokens == 32  # type: ignore[attr-defined]


def test_unknown_strategy_and_react_samples() -> None:
    with pytest.raises(ConfigError, match="unknown strategy 'tot'"):
        build_runner("tot", MockBackend())
    with pytest.raises(ConfigError, match="react runs one trajectory"):
        build_runner("react", MockBackend(), n=3)


def test_react_on_math_uses_the_calculator_and_the_math_prompt() -> None:
    backend = MockBackend([" 48 cookies in 6 boxes is 48 / 6.\nAction 1: Calculator[48 / 6]",
                           " Each box has 8.\nAction 2: Finish[8]"])
    runner = build_runner("react", backend, task="math")
    result = runner.run("48 cookies go equally into 6 boxes. How many are in each box?")
    assert (result.answer, result.status) == ("8", "ok")
    assert result.trace.steps[0].observation == "8"
    assert "Calculator[expression]" in backend.prompts[0] and "Action 1: Calculator[21 - 15]" in backend.prompts[0]


def test_adaptive_and_greedy_vote_are_runner_options() -> None:
    runner = build_runner("pal", MockBackend(), n=8, adaptive={"round_size": 3}, greedy_vote=True)
    assert runner.plan.adaptive is not None and runner.plan.adaptive.round_size == 3  # type: ignore[attr-defined]
    assert runner.plan.greedy_vote  # type: ignore[attr-defined]


def test_the_hybrid_keeps_its_pair_unless_more_votes_are_asked_for() -> None:
    default = build_runner("hybrid", MockBackend())
    assert isinstance(default, HybridRunner) and default.plan == SamplingPlan(2, True, Adaptive())
    more = build_runner("hybrid", MockBackend(), n=6, adaptive=False)
    assert isinstance(more, HybridRunner) and more.plan == SamplingPlan(6, True, None)
