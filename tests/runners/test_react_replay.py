"""Replaying the ReAct paper's own trajectories: the Thought/Action lines of every example in
prompts_naive.json (and the FEVER prompts) are the scripted model's outputs, the fixture
Wikipedia serves pages rebuilt from the recorded observations."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from promptlab.backends import MockBackend
from promptlab.runners.react import ReActRunner
from promptlab.tools import LocalWikipedia, WikipediaEnv
from tests.tools.trajectories import FEVER_KEYS, HOTPOTQA_KEYS, Trajectory, fever, hotpotqa, prompts
from tests.tools.wiki_server import build_fixture

CASES = [(key, hotpotqa, "react_hotpotqa", prompts()[key]) for key in HOTPOTQA_KEYS] + \
        [(key, fever, "react_fever", prompts("react_fever.json")[key]) for key in FEVER_KEYS]


def model_outputs(trajectory: Trajectory, think: bool) -> list[str]:
    """What the model writes after each ``Thought i:`` (or ``Action i:``): the recorded lines, running
    on into the recorded observation as a model would (the stop sequence must cut it)."""
    outputs = []
    for step in trajectory.steps:
        action = f" {step.thought}\nAction {step.number}: {step.action}" if think else f" {step.action}"
        outputs.append(f"{action}\nObservation {step.number}: {step.observation or ''}")
    return outputs


def _rstrip_lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n"))


@pytest.mark.parametrize(("key", "load", "template", "examples"), CASES, ids=[c[0] for c in CASES])
def test_replay_parses_every_action_and_ends_with_the_recorded_answer(
        key: str, load: Callable[[str], list[Trajectory]], template: str, examples: str) -> None:
    trajectories = load(key)
    think = key.startswith("webthink")
    fixture, expected = build_fixture(trajectories)
    transcripts_compared = 0
    with LocalWikipedia(fixture) as wiki:
        for index, trajectory in enumerate(trajectories):
            mock = MockBackend(model_outputs(trajectory, think))
            react = ReActRunner(mock, tools=lambda: WikipediaEnv(wiki.api_url, timeout_s=5).tools(),
                                template=template, examples=examples, think=think)
            result = react.run(trajectory.question)

            assert (result.answer, result.status) == (trajectory.answer, "ok"), (key, index)
            assert mock.remaining == 0
            steps = [s for s in result.trace.steps if s.kind == "action"]
            assert len(steps) == len(trajectory.steps)
            verbatim = True
            for recorded, step in zip(trajectory.steps, steps, strict=True):
                tool, _, argument = recorded.action.partition("[")
                assert step.action is not None
                assert (step.action["tool"].lower(), step.action["argument"]) == \
                    (tool.lower(), argument.removesuffix("]")), (key, recorded.action)
                if recorded.action.startswith("Finish["):
                    continue
                assert step.data["observation_kind"] == "ok"
                expectation = expected[(index, recorded.number)]
                if expectation.exact is not None:
                    assert step.observation == expectation.exact.strip()
                verbatim &= expectation.exact is not None and not expectation.note
            if verbatim:  # every observation is the recorded one: the transcript is the paper's text
                recorded_text = examples[examples.index(f": {trajectory.question}\n"):]
                transcript = mock.prompts[-1][mock.prompts[-1].rindex(f": {trajectory.question}\n"):]
                assert _rstrip_lines(recorded_text).startswith(_rstrip_lines(transcript.rsplit("\n", 1)[0]))
                transcripts_compared += 1
    if key in ("webthink_simple6", "webact_simple6"):
        assert transcripts_compared >= 3


def test_the_default_prompt_replays_three_trajectories_verbatim() -> None:
    trajectories = hotpotqa("webthink_simple6")
    _, expected = build_fixture(trajectories)
    verbatim = [t.question for i, t in enumerate(trajectories)
                if all(expected[(i, s.number)].exact is not None and not expected[(i, s.number)].note
                       for s in t.steps if not s.action.startswith("Finish["))]
    assert len(verbatim) >= 3, verbatim
