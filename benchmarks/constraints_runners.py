"""Reason free, constrain late, measured: ReAct actions and PAL programs with and without constraints.

    .venv/bin/python benchmarks/constraints_runners.py [react] [pal] [--questions 50] [--items 200] [--out DIR]

On the embedded SmolLM2-135M through llama.cpp, greedy:

- ReAct on the first ``--questions`` HotpotQA dev questions against a local mini-Wikipedia
  (examples/data/wiki_pages.json: the pages need not hold the answers, this measures the
  format): the share of steps whose action parses, and whose action names a registered tool.
- PAL on the first ``--items`` items of MAWPS SingleOp: programs that do not compile, that
  raise NameError / UnboundLocalError, other failures, and accuracy.

The two arms (``constrained=False`` and ``True``) alternate item by item, so machine load
hits both alike. Every finished run is appended to ``DIR/react.jsonl`` / ``DIR/pal.jsonl``
at once; a rerun skips what is there (a checkpoint: kill it and start it again). The
Markdown tables at the end are what BENCHMARKS.md records.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promptlab.backends.llamacpp import LlamaCppBackend
from promptlab.eval.datasets import load_dataset
from promptlab.runners import PALRunner, ReActRunner
from promptlab.runners.answers import answers_match
from promptlab.tools import LocalWikipedia, WikipediaEnv
from promptlab.tracing import Trace

ROOT = Path(__file__).resolve().parents[1]
WIKI_PAGES = ROOT / "examples" / "data" / "wiki_pages.json"
ARMS = (False, True)
_COMPILE = re.compile(r"^(SyntaxError|IndentationError|TabError)\b")
_NAME = re.compile(r"^(NameError|UnboundLocalError)\b")


def _pending(path: Path, ids: list[str]) -> Iterator[tuple[str, bool]]:
    """(item id, constrained) pairs not yet in the results file, alternating arms per item."""
    done = {(r["id"], r["constrained"]) for r in _read(path)}
    for item_id in ids:
        for arm in ARMS:
            if (item_id, arm) not in done:
                yield item_id, arm


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _append(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as sink:
        sink.write(json.dumps(record) + "\n")


def _run_all(path: Path, questions: dict[str, Any], run: Callable[[Any, bool], dict[str, Any]]) -> None:
    for item_id, arm in _pending(path, list(questions)):
        started = time.perf_counter()
        record = run(questions[item_id], arm)
        record.update(id=item_id, constrained=arm, wall_s=round(time.perf_counter() - started, 2))
        _append(path, record)
        print(f"{path.stem} {item_id} constrained={arm}: {record['summary']} ({record['wall_s']} s)", flush=True)


# ---------------------------------------------------------------------------------------- ReAct
def react_steps(trace: Trace) -> list[dict[str, Any]]:
    """Per model-chosen action: whether it parsed and whether it named a registered tool (or finish)."""
    steps = []
    for step in trace.steps:
        if step.kind != "action":
            continue
        parsed = step.action is not None
        refused = step.data.get("observation_kind") in ("unknown_tool", "invalid_arguments")
        steps.append({"parsed": parsed, "valid": parsed and not refused, "completion": step.completion})
    return steps


def run_react(backend: LlamaCppBackend, count: int, out: Path) -> None:
    items = {e.id: e for e in load_dataset("hotpotqa").items[:count]}
    with LocalWikipedia.from_file(WIKI_PAGES) as wiki:
        runners = {arm: ReActRunner(backend, tools=lambda: WikipediaEnv(wiki.api_url).tools(), constrained=arm)
                   for arm in ARMS}

        def run(example: Any, arm: bool) -> dict[str, Any]:
            result = runners[arm].run(example.question)
            steps = react_steps(result.trace)
            tokens = sum(s.completion_tokens for s in result.trace.steps)
            return {"status": result.status, "answer": result.answer, "steps": steps, "completion_tokens": tokens,
                    "summary": f"{sum(s['parsed'] for s in steps)}/{len(steps)} parsed, {result.status}"}

        _run_all(out / "react.jsonl", items, run)


def react_table(records: list[dict[str, Any]]) -> str:
    lines = ["| arm | questions | steps | action parses | valid tool action | finished with an answer | "
             "completion tokens / question | s / question |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for arm in ARMS:
        runs = [r for r in records if r["constrained"] is arm]
        steps = [s for r in runs for s in r["steps"]]
        if not runs or not steps:
            continue
        lines.append(
            f"| {'constrained' if arm else 'free'} | {len(runs)} | {len(steps)} "
            f"| {_share(sum(s['parsed'] for s in steps), len(steps))} "
            f"| {_share(sum(s['valid'] for s in steps), len(steps))} "
            f"| {_share(sum(r['status'] == 'ok' for r in runs), len(runs))} "
            f"| {sum(r['completion_tokens'] for r in runs) / len(runs):.0f} "
            f"| {sum(r['wall_s'] for r in runs) / len(runs):.1f} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ PAL
def pal_outcome(trace: Trace) -> str:
    """How the (single) program ended: ok, no_code, compile, name, or other."""
    executed = [s for s in trace.steps if s.kind == "execute"]
    if not executed:
        return "no_code"
    status = executed[-1].data.get("status")
    if status == "ok":
        return "ok"
    if status == "no_code":
        return "no_code"
    error = str((executed[-1].data.get("sandbox") or {}).get("error") or "")
    if _COMPILE.match(error):
        return "compile"
    if _NAME.match(error):
        return "name"
    return "other"


def run_pal(backend: LlamaCppBackend, count: int, max_new_tokens: int, out: Path) -> None:
    items = {e.id: e for e in load_dataset("mawps-singleop").items[:count]}
    runners = {arm: PALRunner(backend, constrained=arm, max_new_tokens=max_new_tokens) for arm in ARMS}

    def run(example: Any, arm: bool) -> dict[str, Any]:
        result = runners[arm].run(example.question)
        outcome = pal_outcome(result.trace)
        correct = result.answer is not None and answers_match(result.answer, example.answer)
        tokens = sum(s.completion_tokens for s in result.trace.steps)
        program = next((s.completion for s in result.trace.steps if s.kind == "generate"), None)
        return {"outcome": outcome, "answer": result.answer, "correct": correct, "completion_tokens": tokens,
                "program": program, "summary": f"{outcome}, {'correct' if correct else 'wrong'}"}

    _run_all(out / "pal.jsonl", items, run)


def pal_table(records: list[dict[str, Any]]) -> str:
    lines = ["| arm | programs | accuracy | does not compile | NameError / UnboundLocalError | other error "
             "| no code | completion tokens / item | s / item |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for arm in ARMS:
        runs = [r for r in records if r["constrained"] is arm]
        if not runs:
            continue
        count = len(runs)

        def share(outcome: str, runs: list[dict[str, Any]] = runs, count: int = count) -> str:
            return _share(sum(r["outcome"] == outcome for r in runs), count)

        lines.append(
            f"| {'constrained' if arm else 'free'} | {count} | {_share(sum(r['correct'] for r in runs), count)} "
            f"| {share('compile')} | {share('name')} | {share('other')} | {share('no_code')} "
            f"| {sum(r['completion_tokens'] for r in runs) / count:.0f} "
            f"| {sum(r['wall_s'] for r in runs) / count:.2f} |")
    return "\n".join(lines)


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f}%)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", nargs="*", choices=["react", "pal"], default=[])
    parser.add_argument("--questions", type=int, default=50, help="HotpotQA questions for ReAct (default 50)")
    parser.add_argument("--items", type=int, default=200, help="MAWPS SingleOp items for PAL (default 200)")
    parser.add_argument("--pal-max-new-tokens", type=int, default=256,
                        help="token budget of a PAL program (default 256: MAWPS programs need under 150)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-constraints",
                        help="results directory; a rerun resumes from its files")
    args = parser.parse_args()
    which = args.which or ["react", "pal"]
    args.out.mkdir(parents=True, exist_ok=True)
    with LlamaCppBackend(seed=0) as backend:
        if "react" in which:
            run_react(backend, args.questions, args.out)
        if "pal" in which:
            run_pal(backend, args.items, args.pal_max_new_tokens, args.out)
    if "react" in which:
        print("\nReAct on HotpotQA (local mini-Wikipedia)\n\n" + react_table(_read(args.out / "react.jsonl")))
    if "pal" in which:
        print("\nPAL on MAWPS SingleOp\n\n" + pal_table(_read(args.out / "pal.jsonl")))


if __name__ == "__main__":
    main()
