"""Replay the default hybrid (PAL's greedy program, CoT's greedy rationale where it fails) from two eval runs.

The default ``HybridRunner`` (n=2, greedy vote, adaptive) answers with the greedy PAL program's
answer when it executes to one, and otherwise with the greedy CoT answer. Given a PAL run and a
CoT run of ``promptlab eval`` on the same dataset (greedy, the default settings), this computes
what that hybrid answers on their common items, without running the model again:

    .venv/bin/python benchmarks/hybrid_replay.py runs/mawps-singleop-pal runs/mawps-singleop-cot

``--check-arithmetic`` re-reads the CoT run's rationales with the arithmetic check on (CoT's default
since session 6; ``arithmetic_replay.py``), for a CoT run made without it.

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
    parser.add_argument("--check-arithmetic", action="store_true", help="re-read the CoT run's rationales checked")
    args = parser.parse_args()
    pal, cot = _results(args.pal), _results(args.cot)
    if args.check_arithmetic:
        for item, answers in checked_items(args.cot).items():
            if item in cot:
                cot[item]["correct"] = numeric_match(answers.checked[0], cot[item]["reference"])
    common = [item for item in pal if item in cot]
    if not common:
        raise SystemExit("the two runs share no item ids: are they on the same dataset?")
    fallbacks = [item for item in common if _falls_back(pal[item])]
    hybrid = sum(cot[item]["correct"] if item in fallbacks else pal[item]["correct"] for item in common)
    print(f"{len(common)} common items; PAL gave no answer on {len(fallbacks)}, where CoT was asked\n")
    print("| strategy | right | accuracy | 95% CI |\n|---|---:|---:|---:|")
    print(_line("PAL, greedy", sum(pal[item]["correct"] for item in common), len(common)))
    print(_line("CoT, greedy", sum(cot[item]["correct"] for item in common), len(common)))
    print(_line("hybrid (replayed): PAL, CoT where PAL fails", hybrid, len(common)))
    print(_line("either right (an oracle's ceiling)",
                sum(pal[item]["correct"] or cot[item]["correct"] for item in common), len(common)))
    print(f"\nmodel calls per item: {1 + len(fallbacks) / len(common):.2f}")


if __name__ == "__main__":
    main()
