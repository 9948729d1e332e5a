import pytest

from promptlab.backends import MockBackend
from promptlab.errors import ConfigError
from promptlab.eval.harness import RunnerLike
from promptlab.eval.strategies import STRATEGIES, build_runner


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
