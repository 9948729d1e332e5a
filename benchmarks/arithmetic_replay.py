"""Replay eval runs made without checked arithmetic, as if CoT's ``check_arithmetic`` had been on.

The check is a pure function of a rationale's text (:mod:`promptlab.runners.arithmetic`), so a
run's recorded rationales can be re-voted with it: every CoT rationale in ``traces.jsonl`` (a
``generate`` step that records an answer) is read again by the CoT runner of this checkout (its
extraction and check), and the item's vote is taken again over the answers in sampling order,
PAL's included (the hybrid). Exact for plans
that draw a fixed number of samples, and for the hybrid of n = 2 with PAL leading (the default before
session 8), whose one adaptive decision (ask CoT or not) depends on the PAL program only; other adaptive
runs and other hybrids (CoT leading: whether PAL was asked depends on the rationale's reading) are refused.
Three columns separate the two changes of session 6: the answers as run, re-read with this
checkout's extraction alone ("The answer is 18 + 47 = 65" reads 65), and re-read with the check.
A run made with the check is re-read too (its "as run" column then holds the check it ran with).
A fourth votes as this checkout's CoT runner does by default: checked, and ungrounded rationales
weighed 0.25 (session 7, :mod:`promptlab.runners.grounding`; the question comes from the trace).

    .venv/bin/python benchmarks/arithmetic_replay.py runs/mawps-singleop-cot runs/mawps-singleop-cot-sc8
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promptlab.backends.mock import MockBackend
from promptlab.eval.metrics import numeric_match, wilson_interval
from promptlab.runners._sampling import Ballot
from promptlab.runners.arithmetic import check_arithmetic
from promptlab.runners.cot import ChainOfThoughtRunner
from promptlab.runners.voting import majority_vote

Answers = list[str | None]


@dataclass
class Item:
    """One item's CoT rationales (recorded and checked answers by sample index) and its vote."""

    recorded_cot: dict[int, str | None] = field(default_factory=dict)
    reread_cot: dict[int, str | None] = field(default_factory=dict)
    checked_cot: dict[int, str | None] = field(default_factory=dict)
    votes: Answers | None = None
    """The vote step's answers in sampling order; None for a single sample (no vote step)."""
    corrected: int = 0
    """Rationales whose stated arithmetic needed a correction."""
    weighed_cot: dict[int, Ballot] = field(default_factory=dict)
    """Each rationale's ballot as the default CoT runner reads it: checked, and weighed by grounding."""

    @property
    def recorded(self) -> Answers:
        return self.votes if self.votes is not None else [self.recorded_cot[i] for i in sorted(self.recorded_cot)]

    @property
    def reread(self) -> Answers:
        return [self.reread_cot.get(i, answer) for i, answer in enumerate(self.recorded)]

    @property
    def checked(self) -> Answers:
        return [self.checked_cot.get(i, answer) for i, answer in enumerate(self.recorded)]

    @property
    def weighed(self) -> list[Ballot]:
        """The ballots in sampling order (PAL's as recorded, weighing 1)."""
        return [self.weighed_cot.get(i, Ballot(answer)) for i, answer in enumerate(self.recorded)]


def replayable(run: Path) -> None:
    """Exit saying why when the run's votes cannot be replayed."""
    config = json.loads((run / "eval.json").read_text(encoding="utf-8"))
    plan = config.get("plan") or ""
    if config["strategy"] not in ("cot", "hybrid"):
        sys.exit(f"{run}: a {config['strategy']!r} run has no rationales to check; give cot or hybrid runs")
    if config["strategy"] == "hybrid" and (config.get("n") != 2 or config.get("lead", "pal") != "pal"):
        sys.exit(f"{run}: only the hybrid of n = 2 with PAL leading (the greedy program, then the greedy "
                 "rationale; -O lead=pal) replays")
    if "adaptive" in plan and config["strategy"] != "hybrid":
        sys.exit(f"{run}: an adaptive plan ({plan!r}) stopped on unchecked answers; replay fixed-n runs")


def checked_items(run: Path) -> dict[str, Item]:
    """Every item's answers, from the ``generate`` and ``vote`` steps of ``traces.jsonl`` (the default
    hybrid's rationale is its second vote)."""
    hybrid = json.loads((run / "eval.json").read_text(encoding="utf-8"))["strategy"] == "hybrid"
    items: dict[str, Item] = {}
    item, question = Item(), ""
    reader = ChainOfThoughtRunner(MockBackend())
    plain_reader = ChainOfThoughtRunner(MockBackend(), check_arithmetic=False)
    with (run / "traces.jsonl").open(encoding="utf-8") as events:
        for event in map(json.loads, events):
            if event["event"] == "start":
                item = items.setdefault(str(event["metadata"].get("item_id", "")), Item())
                question = event["question"]
            elif event["event"] == "step" and event["kind"] == "vote":
                item.votes = list(event["data"]["answers"])
            elif event["event"] == "step" and event["kind"] == "generate" and "answer" in event["data"]:
                index, recorded = int(event["data"].get("sample", 0)) + hybrid, event["data"]["answer"]
                item.recorded_cot[index] = recorded
                item.reread_cot[index] = plain_reader.ballot(event["completion"]).answer
                item.checked_cot[index] = reader.ballot(event["completion"]).answer
                item.weighed_cot[index] = reader.ballot(event["completion"], question)
                item.corrected += bool(check_arithmetic(event["completion"]).corrections)
    return items


def right(items: dict[str, Item], references: dict[str, str], answers: Callable[[Item], Answers]) -> int:
    """Items whose vote over ``answers(item)`` matches the reference."""
    return sum(numeric_match(majority_vote(answers(item)).answer, references[i]) for i, item in items.items())


def right_weighed(items: dict[str, Item], references: dict[str, str]) -> int:
    """Items whose weighted vote over their ballots (:attr:`Item.weighed`) matches the reference."""
    return sum(numeric_match(majority_vote([b.answer for b in item.weighed], [b.weight for b in item.weighed]).answer,
                             references[i]) for i, item in items.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="promptlab eval directories (cot, or the hybrid)")
    args = parser.parse_args()
    print("| run | items | right, as run | re-read | checked | accuracy, checked | 95% CI | rationales corrected "
          "| checked + weighed | accuracy | 95% CI |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in args.runs:
        replayable(run)
        with (run / "results.jsonl").open(encoding="utf-8") as lines:
            references = {row["id"]: row["reference"] for row in map(json.loads, lines)}
        items = {i: item for i, item in checked_items(run).items() if i in references and item.recorded}
        before, reread, after = (right(items, references, answers) for answers in
                                 (lambda i: i.recorded, lambda i: i.reread, lambda i: i.checked))
        low, high = wilson_interval(after, len(items))
        rationales = sum(len(item.recorded_cot) for item in items.values())
        corrected = sum(item.corrected for item in items.values())
        weighed = right_weighed(items, references)
        w_low, w_high = wilson_interval(weighed, len(items))
        print(f"| {run.name} | {len(items)} | {before} | {reread} | {after} | {after / len(items):.1%} | "
              f"{low:.1%} - {high:.1%} | {corrected} of {rationales} | {weighed} | {weighed / len(items):.1%} | "
              f"{w_low:.1%} - {w_high:.1%} |")


if __name__ == "__main__":
    main()
