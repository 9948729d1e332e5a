"""Replay adaptive self-consistency from a fixed-``n`` run of ``promptlab eval``.

A run with ``--n 8 -O greedy_vote=true`` records every item's 8 answers in sampling order (the
``vote`` step of its trace). Adaptive rounds draw from the same distribution in the same order
(and, with a runner seed, the very same samples: seeds continue across rounds), so each stopping
rule can be replayed on those answers: its accuracy and the samples it would have used, beside
the fixed vote's and the greedy answer's alone. Unseeded, a replay estimates a live adaptive run.

    .venv/bin/python benchmarks/adaptive_replay.py runs/mawps-singleop-cot-sc8 \\
        --policy '{}' --policy '{"scattered_after": 5}'

Each ``--policy`` is the JSON of :class:`promptlab.runners.Adaptive`'s fields (``{}`` is the
default rule); ``--grid`` takes a list of values per field and replays every combination:

    .venv/bin/python benchmarks/adaptive_replay.py runs/s6/mawps-singleop-cot-sc8-checked --reread \
        --grid '{"round_size": [1, 2], "confidence": [0.5, 0.6, 0.75], "min_votes": [2, 3]}'

``--reread`` takes a CoT run's answers as this checkout's CoT runner reads its
rationales (extraction, checked arithmetic and grounding weights, ``arithmetic_replay.py``) instead
of as recorded; without it no ballot is judged grounded, so a rule's grounded stop never fires.
Items whose vote has fewer answers than the most any item has (a run still going,
an item that raised) are left out and counted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arithmetic_replay import checked_items

from promptlab.eval.metrics import numeric_match, wilson_interval
from promptlab.runners import Adaptive, SamplingPlan
from promptlab.runners._sampling import Ballot, self_consistency
from promptlab.runners.flow import Effect
from promptlab.runners.voting import majority_vote
from promptlab.tracing import TraceRecorder

Answers = list[str | None]


def vote_answers(run: Path) -> dict[str, Answers]:
    """Each item's answers in sampling order, from the ``vote`` steps of ``traces.jsonl``."""
    answers: dict[str, Answers] = {}
    item = ""
    with (run / "traces.jsonl").open(encoding="utf-8") as events:
        for event in map(json.loads, events):
            if event["event"] == "start":
                item = str(event["metadata"].get("item_id", ""))
            elif event["event"] == "step" and event["kind"] == "vote":
                answers[item] = list(event["data"]["answers"])
    return answers


def replay(policy: Adaptive, ballots: list[Ballot]) -> tuple[str | None, int]:
    """The answer and the samples an adaptive plan over ``answers`` (greedy vote first) would use:
    the runners' own :func:`self_consistency`, drawing the recorded answers in order."""

    def draw(first: int, count: int, greedy: bool) -> Generator[Effect, Any, list[Ballot]]:
        yield from ()
        return ballots[first:first + count]

    plan = SamplingPlan(n=len(ballots), greedy_vote=True, adaptive=policy)
    try:
        next(self_consistency(draw, plan, TraceRecorder("replay", "")))
    except StopIteration as done:
        result = done.value
        return result.answer, result.samples
    raise AssertionError("a replayed draw asks the model for nothing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="an eval directory run with --n N -O greedy_vote=true")
    parser.add_argument("--policy", action="append", default=None, help="Adaptive fields as JSON ({} = default)")
    parser.add_argument("--grid", type=json.loads, default=None,
                        help="Adaptive fields as JSON lists of values: every combination is replayed")
    parser.add_argument("--reread", action="store_true", help="re-read the CoT rationales with this checkout")
    args = parser.parse_args()
    plan = json.loads((args.run / "eval.json").read_text(encoding="utf-8")).get("plan") or ""
    if "greedy vote" not in plan or "adaptive" in plan:
        sys.exit(f"{args.run}: needs a fixed-n run with the greedy vote (--n N -O greedy_vote=true), not {plan!r}")
    with (args.run / "results.jsonl").open(encoding="utf-8") as lines:
        references = {row["id"]: row["reference"] for row in map(json.loads, lines)}
    ballots = ({item: votes.weighed for item, votes in checked_items(args.run).items()} if args.reread
               else {item: [Ballot(answer) for answer in votes] for item, votes in vote_answers(args.run).items()})
    if not ballots:
        sys.exit(f"{args.run}: no votes in traces.jsonl yet")
    n = max(map(len, ballots.values()))
    items = [i for i in references if len(ballots.get(i, [])) == n]
    print(f"{args.run}: {len(items)} items with all {n} votes ({len(references) - len(items)} left out)\n")
    print("| rule | right | accuracy | 95% CI | samples / item |")
    print("|---|---:|---:|---:|---:|")

    def line(name: str, picks: list[tuple[str | None, int]]) -> None:
        right = sum(numeric_match(answer, references[i]) for (answer, _), i in zip(picks, items, strict=True))
        low, high = wilson_interval(right, len(items))
        used = statistics.fmean(k for _, k in picks)
        print(f"| {name} | {right} | {right / len(items):.1%} | {low:.1%} - {high:.1%} | {used:.2f} |")

    line("greedy answer alone", [(ballots[i][0].answer, 1) for i in items])
    line(f"fixed vote of {n} (greedy first)", [(vote(ballots[i]), n) for i in items])
    if args.reread:
        line(f"fixed vote of {n}, unweighted",
             [(majority_vote([b.answer for b in ballots[i]]).answer, n) for i in items])
    for policy in policies(args.policy, args.grid):
        line(f"adaptive: {policy.describe()}", [replay(policy, ballots[i]) for i in items])


def policies(specs: list[str] | None, grid: dict[str, list[Any]] | None) -> list[Adaptive]:
    """The ``--policy`` rules, then every combination of the ``--grid`` values (the default rule if neither)."""
    rules = [Adaptive(**json.loads(spec)) for spec in specs or []]
    if grid:
        fields = list(grid)
        rules += [Adaptive(**dict(zip(fields, values, strict=True))) for values in itertools.product(*grid.values())]
    return rules or [Adaptive()]


def vote(ballots: list[Ballot]) -> str | None:
    """The weighted vote over ``ballots`` (a plain one when they all weigh 1)."""
    return majority_vote([b.answer for b in ballots], [b.weight for b in ballots]).answer


if __name__ == "__main__":
    main()
