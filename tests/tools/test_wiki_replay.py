"""The environment replays the ReAct prompts' trajectories: the observations it returns are the
recorded ones wherever the recorded text is what the paper's environment can produce."""

from __future__ import annotations

import re

import pytest

from promptlab.tools import LocalWikipedia, WikipediaEnv
from tests.tools.trajectories import FEVER_KEYS, HOTPOTQA_KEYS, Trajectory, fever, hotpotqa
from tests.tools.wiki_server import build_fixture

CASES = [(key, hotpotqa) for key in HOTPOTQA_KEYS] + [(key, fever) for key in FEVER_KEYS]
_RESULT_PREFIX = re.compile(r"^\(Result \d+ / \d+\) ")


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("key", "load"), CASES, ids=[key for key, _ in CASES])
def test_environment_reproduces_recorded_observations(key: str, load: object) -> None:
    trajectories: list[Trajectory] = load(key)  # type: ignore[operator]
    fixture, expected = build_fixture(trajectories)
    exact = approximate = 0  # webthink_simple_3's observations all end in citation marks: none exact
    with LocalWikipedia(fixture) as wiki:
        for t_index, trajectory in enumerate(trajectories):
            env = WikipediaEnv(wiki.api_url, timeout_s=5)
            for step in trajectory.steps:
                # The notebooks lower-case the action's first letter before env.step.
                observation, done = env.step(step.action[:1].lower() + step.action[1:])
                if step.action.startswith("Finish["):
                    assert done and env.answer == trajectory.answer
                    continue
                recorded = step.observation or ""
                expectation = expected[(t_index, step.number)]
                if expectation.exact is not None:
                    assert observation.rstrip() == expectation.exact, (key, step.action)
                    if not expectation.note:
                        assert observation.rstrip() == recorded.rstrip(), (key, step.action)
                    exact += 1
                else:
                    # Trimmed or older recorded text: the env's first sentence is part of it.
                    first = _RESULT_PREFIX.sub("", observation).split(". ")[0].rstrip(".")
                    assert first and first in _squash(recorded), (key, step.action, expectation.note)
                    approximate += 1
    assert exact + approximate == sum(not s.action.startswith("Finish[") for t in trajectories for s in t.steps)


def test_the_default_prompt_reproduces_most_observations_exactly() -> None:
    _, expected = build_fixture(hotpotqa("webthink_simple6"))
    verbatim = [e for e in expected.values() if e.exact is not None and not e.note]
    assert len(verbatim) >= 7, len(verbatim)  # Nicholas Ray, Elia Kazan, Urysohn, Levin, both magazines, a lookup
