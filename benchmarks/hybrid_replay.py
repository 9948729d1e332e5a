"""Replay the default hybrid (CoT's greedy rationale, PAL's greedy program where it is ungrounded) from two eval runs.

The default ``HybridRunner`` (n=2, CoT leads, greedy vote, adaptive) answers with the greedy
rationale's answer when it is grounded (computed from the question's numbers), and otherwise with
the greedy PAL program's answer when it executes to one (it outweighs an ungrounded rationale),
else with the rationale's. Given a PAL run and a CoT run of ``promptlab eval`` on the same dataset
(greedy, the default settings), this computes what that hybrid answers on their common items,
without running the model again; the CoT run's rationales are read as this checkout's CoT runner
reads them (checked arithmetic, grounding: ``arithmetic_replay.py``):

    .venv/bin/python benchmarks/hybrid_replay.py runs/mawps-singleop-pal runs/mawps-singleop-cot

``--lead pal`` replays the other order (PAL's program, CoT's rationale where it gives no answer;
the default before session 8); there ``--check-arithmetic`` re-reads the CoT run's rationales with the
arithmetic check on, for a CoT run made without it.

A replay assumes the hybrid's greedy calls produce the same texts as the two runs did; on
llama.cpp a greedy text can differ at near-ties between batch compositions, so check it
against a live ``--strategy hybrid`` run on some items (BENCHMARKS.md does).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arithmetic_replay import checked_items

from promptlab.eval.metrics import numeric_match, wilson_interval


def _results(run: Path) -> dict[str, dict[str, Any]]:
    with (run / "results.jsonl").open(encoding="utf-8") as lines:
        return {row["id"]: row for row in map(json.loads, lines)}


def _falls_back(row: dict[str, Any]) -> bool:
    """Whether the hybrid would ask CoT: the program gave no answer (an item that raised stays an error)."""
    return row["status"] != "error" and (row["status"] != "ok" or row["prediction"] is None)


def _line(name: str, right: int, total: int) -> str:
    low, high = wilson_interval(right, total)
    return f"| {name} | {right} / {total} | {right / total:.1%} | {low:.1%} - {high:.1%} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pal", type=Path, help="a promptlab eval directory of the PAL strategy")
    parser.add_argument("cot", type=Path, help="a promptlab eval directory of the CoT strategy, same dataset")
    parser.add_argument("--lead", choices=("cot", "pal"), default="cot", help="whose greedy answer leads the vote")
    parser.add_argument("--check-arithmetic", action="store_true",
                        help="with --lead pal: re-read the CoT run's rationales checked")
    args = parser.parse_args()
    pal, cot = _results(args.pal), _results(args.cot)
    ungrounded: set[str] = set()
    if args.check_arithmetic or args.lead == "cot":
        for item, answers in checked_items(args.cot).items():
            if item in cot:
                greedy = answers.weighed[0]
                cot[item]["correct"] = numeric_match(greedy.answer, cot[item]["reference"])
                if greedy.grounded is False or greedy.answer is None:
                    ungrounded.add(item)
    common = [item for item in pal if item in cot]
    if not common:
        raise SystemExit("the two runs share no item ids: are they on the same dataset?")
    if args.lead == "cot":
        asked = [item for item in common if item in ungrounded]
        hybrid = sum(pal[item]["correct"] if item in asked and not _falls_back(pal[item]) else cot[item]["correct"]
                     for item in common)
        print(f"{len(common)} common items; the rationale's answer was ungrounded or missing on {len(asked)}, "
              "where PAL was asked\n")
        name = "hybrid (replayed): CoT, PAL where CoT is ungrounded"
    else:
        asked = [item for item in common if _falls_back(pal[item])]
        hybrid = sum(cot[item]["correct"] if item in asked else pal[item]["correct"] for item in common)
        print(f"{len(common)} common items; PAL gave no answer on {len(asked)}, where CoT was asked\n")
        name = "hybrid (replayed): PAL, CoT where PAL fails"
    print("| strategy | right | accuracy | 95% CI |\n|---|---:|---:|---:|")
    print(_line("PAL, greedy", sum(pal[item]["correct"] for item in common), len(common)))
    print(_line("CoT, greedy", sum(cot[item]["correct"] for item in common), len(common)))
    print(_line(name, hybrid, len(common)))
    print(_line("either right (an oracle's ceiling)",
                sum(pal[item]["correct"] or cot[item]["correct"] for item in common), len(common)))
    print(f"\nmodel calls per item: {1 + len(asked) / len(common):.2f}")


if __name__ == "__main__":
    main()
