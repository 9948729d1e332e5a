"""How much an ungrounded CoT vote should count: replay recorded rationales under several weights.

A CoT answer is grounded when its rationale computes it from the question's numbers
(:mod:`promptlab.runners.grounding`). Both the judgment and the vote are functions of the recorded
text, so recorded samples can be re-voted exactly under any weight. For each source this prints how
often grounded and ungrounded answers are right, then the vote of the first k samples (the greedy
one first) for each weight. Sources: a sampling-sweep pool (``sampling_sweep.py sample``; the
greedy answer and the first 7 samples of ``--config``, questions from ``--dataset``), or an eval
directory run with ``--n N -O greedy_vote=true``.

    .venv/bin/python benchmarks/grounding_sweep.py benchmarks/results/sweep5-cot.jsonl \\
        runs/s6/mawps-singleop-cot-sc8-checked runs/s6/svamp-cot-sc8-checked
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arithmetic_replay import checked_items

from promptlab.backends.mock import MockBackend
from promptlab.eval import load_dataset
from promptlab.eval.metrics import numeric_match
from promptlab.runners import Ballot, ChainOfThoughtRunner, majority_vote

WEIGHTS = (1.0, 0.5, 0.25, 0.1)
FIRST = (1, 2, 3, 4, 5, 6, 8)
Votes = list[tuple[str, list[Ballot]]]
"""(reference, ballots in sampling order) per item."""


def pool_votes(path: Path, dataset: str, config: str) -> Votes:
    """The greedy rationale and the first 7 of ``config`` per item of a sampling-sweep pool, read by the
    default CoT runner."""
    questions = {item.id: item.question for item in load_dataset(dataset).items}
    rows: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
    with path.open(encoding="utf-8") as lines:
        for row in map(json.loads, lines):
            rows[row["id"]][row["config"]] = row
    reader = ChainOfThoughtRunner(MockBackend())
    votes: Votes = []
    for item, configs in rows.items():
        if "greedy" in configs and config in configs:
            texts = [*configs["greedy"]["texts"][:1], *configs[config]["texts"][:7]]  # type: ignore[index]
            votes.append((str(configs["greedy"]["reference"]), [reader.ballot(t, questions[item]) for t in texts]))
    return votes


def run_votes(run: Path) -> Votes:
    """Each item's ballots as the default CoT runner reads them (``arithmetic_replay.checked_items``)."""
    with (run / "results.jsonl").open(encoding="utf-8") as lines:
        references = {row["id"]: row["reference"] for row in map(json.loads, lines)}
    return [(references[i], item.weighed) for i, item in checked_items(run).items() if i in references]


def reweighed(ballots: list[Ballot], weight: float) -> list[Ballot]:
    return [replace(b, weight=weight) if b.grounded is False else b for b in ballots]


def right(votes: Votes, first: int, weight: float) -> int:
    return sum(numeric_match(majority_vote([b.answer for b in bs[:first]], [b.weight for b in bs[:first]]).answer,
                             reference) for reference, bs in ((r, reweighed(b, weight)) for r, b in votes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", type=Path, nargs="+", help="sweep pools (.jsonl) or eval directories")
    parser.add_argument("--dataset", default="mawps-addsub", help="the dataset of the sweep pools")
    parser.add_argument("--config", default="t0.5", help="the sweep configuration whose samples follow the greedy one")
    args = parser.parse_args()
    for source in args.sources:
        votes = pool_votes(source, args.dataset, args.config) if source.suffix == ".jsonl" else run_votes(source)
        n = max(len(bs) for _, bs in votes)
        votes = [(r, bs) for r, bs in votes if len(bs) == n]
        print(f"\n{source}: {len(votes)} items with {n} votes")
        for grounded in (True, False):
            answers = [numeric_match(b.answer, r) for r, bs in votes for b in bs
                       if b.answer is not None and b.grounded is grounded]
            print(f"- {'grounded' if grounded else 'ungrounded'} answers: {sum(answers)} of {len(answers)} right "
                  f"({sum(answers) / max(len(answers), 1):.1%})")
        print("\n| first k votes | " + " | ".join(f"weight {w:g}" for w in WEIGHTS) + " |")
        print("|---:|" + "---:|" * len(WEIGHTS))
        for first in (k for k in FIRST if k <= n):
            print(f"| {first} | " + " | ".join(str(right(votes, first, w)) for w in WEIGHTS) + " |")


if __name__ == "__main__":
    main()
