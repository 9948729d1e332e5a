"""The few-shot trajectories of the ReAct paper's prompts, parsed into steps (test data)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "templates" / "examples"
HOTPOTQA_KEYS = ("webthink_simple6", "webthink_simple", "webthink_simple_3", "webact_simple6")
FEVER_KEYS = ("webthink_simple3", "webact_simple3")

_LINE = re.compile(r"^(Question|Claim|Thought|Action|Observation)(?: (\d+))?: ?(.*)$")


@dataclass
class RecordedStep:
    number: int
    thought: str | None = None
    action: str = ""
    observation: str | None = None


@dataclass
class Trajectory:
    question: str
    steps: list[RecordedStep] = field(default_factory=list)

    @property
    def answer(self) -> str:
        action = self.steps[-1].action
        assert action.startswith("Finish[") and action.endswith("]"), action
        return action[len("Finish["):-1]


def parse(text: str) -> list[Trajectory]:
    """Split a prompt string into trajectories; an observation may run over several lines."""
    trajectories: list[Trajectory] = []
    last: tuple[RecordedStep, str] | None = None
    for line in text.split("\n"):
        match = _LINE.match(line)
        if match is None:
            if last is not None and last[1] == "Observation":
                last[0].observation = f"{last[0].observation}\n{line}"
            continue
        label, number, content = match.groups()
        if label in ("Question", "Claim"):
            trajectories.append(Trajectory(content))
            last = None
            continue
        steps = trajectories[-1].steps
        if not steps or steps[-1].number != int(number):
            steps.append(RecordedStep(int(number)))
        setattr(steps[-1], label.lower(), content)
        last = (steps[-1], label)
    for trajectory in trajectories:  # the text after the last step ends with the prompt's final newline
        final = trajectory.steps[-1]
        if final.observation is not None:
            final.observation = final.observation.rstrip("\n")
    return trajectories


@cache
def prompts(name: str = "react_prompts_naive.json") -> dict[str, str]:
    return dict(json.loads((DATA / name).read_text(encoding="utf-8")))


def hotpotqa(key: str) -> list[Trajectory]:
    return parse(prompts()[key])


def fever(key: str) -> list[Trajectory]:
    return parse(prompts("react_fever.json")[key])
