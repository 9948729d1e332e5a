"""Sampling sweep for self-consistency on a development split (not the items reported on).

``sample`` draws, for each dev item and each sampling configuration, ``n`` samples with
PAL or CoT on the embedded model and stores their answers in order (one JSON line per
item and configuration; rerunning resumes). ``table`` replays those pools offline: the
accuracy of one sample, of the fixed-``n`` vote, of the vote with the greedy answer as
one of the ``n`` votes, and of adaptive self-consistency (rounds drawn from the same
pool, in order), with the samples each used. The greedy pool is configuration ``greedy``.

    .venv/bin/python benchmarks/sampling_sweep.py sample --strategy pal --items 25 --out sweep.jsonl \\
        --config greedy --config t0.3:temperature=0.3 --config t0.7-minp0.1:temperature=0.7,min_p=0.1
    .venv/bin/python benchmarks/sampling_sweep.py table sweep.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promptlab.backends import load_backend
from promptlab.eval.datasets import load_dataset
from promptlab.eval.metrics import numeric_match
from promptlab.runners import Ballot, ChainOfThoughtRunner, PALRunner
from promptlab.runners.voting import majority_vote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from adaptive_replay import replay


def parse_config(spec: str) -> tuple[str, dict[str, Any]]:
    """``label:key=value,key=value`` (values JSON) -> (label, knobs); ``greedy`` alone is greedy."""
    label, _, knobs = spec.partition(":")
    values: dict[str, Any] = {}
    for pair in filter(None, knobs.split(",")):
        key, _, value = pair.partition("=")
        values[key] = json.loads(value)
    return label, values


def sample(args: argparse.Namespace) -> None:
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    items = data.items[args.skip:args.skip + args.items]
    out = Path(args.out)
    done = set()
    if out.exists():
        done = {(r["strategy"], r["config"], r["id"]) for r in map(json.loads, out.read_text().splitlines())}
    backend = load_backend(args.backend)
    runner_class = PALRunner if args.strategy == "pal" else ChainOfThoughtRunner
    runners = {}
    for spec in args.config:
        label, knobs = parse_config(spec)
        n = 1 if label == "greedy" else args.n
        runners[label] = (knobs, runner_class(backend, n=n, max_new_tokens=args.max_new_tokens, seed=args.seed,
                                              **knobs))
    with out.open("a", encoding="utf-8") as sink:
        for item in items:  # item-major: every configuration has the same items whenever the run stops
            for label, (knobs, runner) in runners.items():
                if (args.strategy, label, item.id) in done:
                    continue
                started = time.perf_counter()
                result = runner.run(item.question)
                votes = [s for s in result.trace.steps if s.kind == "vote"]
                answers = votes[0].data["answers"] if votes else [result.answer]
                sink.write(json.dumps({
                    "strategy": args.strategy, "config": label, "knobs": knobs, "id": item.id,
                    "reference": item.answer, "answers": answers,
                    "texts": [s.completion for s in result.trace.steps if s.kind == "generate"],
                    "completion_tokens": result.trace.completion_tokens,
                    "seconds": round(time.perf_counter() - started, 3),
                }) + "\n")
                sink.flush()
            print(f"{args.strategy} item {item.id}: done", flush=True)


def table(args: argparse.Namespace) -> None:
    from promptlab.runners import Adaptive

    rows = [json.loads(line) for path in args.pools for line in Path(path).read_text().splitlines()]
    pools: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        pools[row["strategy"], row["config"]][row["id"]] = row
    policies = [Adaptive(round_size=2, confidence=None), Adaptive(confidence=0.75), Adaptive(),
                Adaptive(round_size=1, confidence=1.0), Adaptive(confidence=0.5, min_votes=2),
                Adaptive(scattered_after=3), Adaptive(scattered_after=5), Adaptive(round_size=1, scattered_after=3)]
    print("| strategy | config | items | greedy (same items) | 1 sample | SC n | SC n + greedy vote | "
          + " | ".join(f"adaptive {p.describe()} (+greedy): acc / samples" for p in policies) + " |")
    print("|---|---|---:|---:|---:|---:|---:|" + "---:|" * len(policies))
    for (strategy, label), pool in sorted(pools.items()):
        greedy = pools.get((strategy, "greedy"), {})
        ids = [i for i in pool if label == "greedy" or i in greedy]
        if not ids:
            continue

        def accuracy(pick: Any, ids: list[str] = ids, pool: dict[str, Any] = pool) -> float:
            return sum(numeric_match(pick(pool[i], i), pool[i]["reference"]) for i in ids) / len(ids)

        single = statistics.fmean(numeric_match(a, pool[i]["reference"]) for i in ids for a in pool[i]["answers"])
        fixed = accuracy(lambda row, _: majority_vote(row["answers"]).answer)
        reference = greedy or pool
        greedy_acc = sum(numeric_match(reference[i]["answers"][0], pool[i]["reference"]) for i in ids) / len(ids)
        cells = [strategy, label, str(len(ids)), f"{greedy_acc:.1%}", f"{single:.1%}", f"{fixed:.1%}"]
        if label != "greedy":
            n = len(pool[ids[0]]["answers"])
            voters = {i: _with_greedy(greedy, i, pool[i], n) for i in ids}
            cells.append(f"{accuracy(lambda _, i, voters=voters: majority_vote(voters[i]).answer):.1%}")
            for policy in policies:
                outcomes = [replay(policy, [Ballot(answer) for answer in voters[i]]) for i in ids]
                correct = sum(numeric_match(a, pool[i]["reference"]) for (a, _), i in zip(outcomes, ids, strict=True))
                used = statistics.fmean(k for _, k in outcomes)
                cells.append(f"{correct / len(ids):.1%} / {used:.1f}")
        print("| " + " | ".join(cells) + " |")


def _with_greedy(greedy: dict[str, Any], item: str, row: dict[str, Any], n: int) -> list[str | None]:
    """The greedy answer, then the first n - 1 samples."""
    return [greedy[item]["answers"][0], *row["answers"][: n - 1]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    draw = commands.add_parser("sample", help="draw the sample pools")
    draw.add_argument("--strategy", choices=("pal", "cot"), default="pal")
    draw.add_argument("--dataset", default="mawps-addsub")
    draw.add_argument("--data-dir", default=None)
    draw.add_argument("--items", type=int, default=25)
    draw.add_argument("--skip", type=int, default=0)
    draw.add_argument("--n", type=int, default=8)
    draw.add_argument("--seed", type=int, default=0)
    draw.add_argument("--max-new-tokens", type=int, default=256)
    draw.add_argument("--config", action="append", required=True, help="label:key=value,... or greedy")
    draw.add_argument("--out", required=True)
    draw.add_argument("--backend", default="llamacpp", help="backend spec, e.g. llamacpp?n_threads=1")
    report = commands.add_parser("table", help="replay the pools into the sweep table")
    report.add_argument("pools", nargs="+")
    args = parser.parse_args()
    sample(args) if args.command == "sample" else table(args)


if __name__ == "__main__":
    main()
