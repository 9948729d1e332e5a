"""Replay eval runs made without checked arithmetic, as if CoT's ``check_arithmetic`` had been on.

The check is a pure function of a rationale's text (:mod:`promptlab.runners.arithmetic`), so a
run's recorded rationales can be re-voted with it: every CoT rationale in ``traces.jsonl`` (a
``generate`` step that records an answer) is read again by the CoT runner of this checkout (its
extraction and check), and the item's vote is taken again over the answers in sampling order,
PAL's included (the hybrid). Exact for plans
that draw a fixed number of samples, and for the default hybrid, whose one adaptive decision (ask
CoT or not) depends on the PAL program only; other adaptive runs are refused, since their
stopping depended on the unchecked answers.

    .venv/bin/python benchmarks/arithmetic_replay.py runs/mawps-singleop-cot runs/mawps-singleop-cot-sc8
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promptlab.backends.mock import MockBackend
from promptlab.eval.metrics import numeric_match, wilson_interval
from promptlab.runners.arithmetic import check_arithmetic
from promptlab.runners.cot import ChainOfThoughtRunner
from promptlab.runners.voting import majority_vote

Answers = list[str | None]


@dataclass
class Item:
    """One item's CoT rationales (recorded and checked answers by sample index) and its vote."""

    recorded_cot: dict[int, str | None] = field(default_factory=dict)
    checked_cot: dict[int, str | None] = field(default_factory=dict)
    votes: Answers | None = None
    """The vote step's answers in sampling order; None for a single sample (no vote step)."""
    corrected: int = 0
    """Rationales whose stated arithmetic needed a correction."""

    @property
    def recorded(self) -> Answers:
        return self.votes if self.votes is not None else [self.recorded_cot[i] for i in sorted(self.recorded_cot)]

    @property
    def checked(self) -> Answers:
        return [self.checked_cot.get(i, answer) for i, answer in enumerate(self.recorded)]


def replayable(run: Path) -> None:
    """Exit saying why when the run's votes cannot be replayed."""
    config = json.loads((run / "eval.json").read_text(encoding="utf-8"))
    plan = config.get("plan") or ""
    if config.get("checks_arithmetic"):
        sys.exit(f"{run}: already run with checked arithmetic")
    if "adaptive" in plan and not (config["strategy"] == "hybrid" and config.get("n") == 2):
        sys.exit(f"{run}: an adaptive plan ({plan!r}) stopped on unchecked answers; replay fixed-n runs")


def checked_items(run: Path) -> dict[str, Item]:
    """Every item's answers, from the ``generate`` and ``vote`` steps of ``traces.jsonl``."""
    items: dict[str, Item] = {}
    item = Item()
    reader = ChainOfThoughtRunner(MockBackend())
    with (run / "traces.jsonl").open(encoding="utf-8") as events:
        for event in map(json.loads, events):
            if event["event"] == "start":
                item = items.setdefault(str(event["metadata"].get("item_id", "")), Item())
            elif event["event"] == "step" and event["kind"] == "vote":
                item.votes = list(event["data"]["answers"])
            elif event["event"] == "step" and event["kind"] == "generate" and "answer" in event["data"]:
                index, recorded = int(event["data"].get("sample", 0)), event["data"]["answer"]
                item.recorded_cot[index] = recorded
                item.checked_cot[index] = reader.ballot(event["completion"]).answer
                item.corrected += bool(check_arithmetic(event["completion"]).corrections)
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="promptlab eval directories (cot, or the hybrid)")
    args = parser.parse_args()
    print("| run | items | right, as run | right, checked | accuracy, checked | 95% CI | rationales corrected |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for run in args.runs:
        replayable(run)
        with (run / "results.jsonl").open(encoding="utf-8") as lines:
            references = {row["id"]: row["reference"] for row in map(json.loads, lines)}
        items = {i: item for i, item in checked_items(run).items() if i in references and item.recorded}
        before = sum(numeric_match(majority_vote(item.recorded).answer, references[i]) for i, item in items.items())
        after = sum(numeric_match(majority_vote(item.checked).answer, references[i]) for i, item in items.items())
        low, high = wilson_interval(after, len(items))
        rationales = sum(len(item.recorded_cot) for item in items.values())
        corrected = sum(item.corrected for item in items.values())
        print(f"| {run.name} | {len(items)} | {before} | {after} | {after / len(items):.1%} | "
              f"{low:.1%} - {high:.1%} | {corrected} of {rationales} |")


if __name__ == "__main__":
    main()
