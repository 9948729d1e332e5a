"""Latency per program: promptlab's sandbox against raw in-process exec and a fresh interpreter per program.

Runs PAL's 8 GSM8K few-shot programs (templates/examples/gsm_pal_prompt.jsonl). Every contender runs every
program once per round, in a rotating order, so that machine noise hits all of them alike; each run's value is
checked against the program's answer. Reports p50/p95 of the per-program latency and the ratios to raw exec.

    .venv/bin/python benchmarks/sandbox.py [--rounds 40] [--gap-ms 0] [--only NAME ...]

``--gap-ms`` pauses between runs, as when a model generates the next program: the sandbox forks and warms the
next run's child while idle, so paced runs show its latency without that work. To compare another executor,
add a class with ``name``, ``run(program) -> value`` and ``close()`` to ``CONTENDERS``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROGRAMS = ROOT / "templates" / "examples" / "gsm_pal_prompt.jsonl"


class Contender(Protocol):
    name: str

    def run(self, program: str) -> Any: ...

    def close(self) -> None: ...


class PromptlabSandbox:
    """promptlab.sandbox: RestrictedPython in a forked, rlimited child of a warm worker."""

    name = "promptlab sandbox"

    def __init__(self) -> None:
        from promptlab.sandbox import Sandbox

        self.box = Sandbox()
        self.box.start()

    def run(self, program: str) -> Any:
        result = self.box.run(program)
        if not result.ok:
            raise RuntimeError(f"sandbox run failed: {result.error}")
        return result.value

    def close(self) -> None:
        self.box.close()


class RawExec:
    """exec() in this process: no isolation, no limits (the floor)."""

    name = "raw exec (no isolation)"

    def run(self, program: str) -> Any:
        namespace: dict[str, Any] = {}
        exec(compile(program, "<program>", "exec"), namespace)
        return namespace["solution"]()

    def close(self) -> None:
        pass


class FreshInterpreter:
    """A new ``sys.executable -c`` process per program (isolation by process, no limits)."""

    name = "fresh python -c"

    def run(self, program: str) -> Any:
        code = f"{program}\nimport json\nprint(json.dumps(solution()))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
        return json.loads(done.stdout)

    def close(self) -> None:
        pass


class SmolagentsExecutor:
    """smolagents' LocalPythonExecutor: an AST interpreter with an import allow-list, in this process.

    Its state persists between runs (as PAL's runtime did); no process, CPU or memory isolation.
    Needs the ``bench`` extra.
    """

    name = "smolagents LocalPythonExecutor"

    def __init__(self) -> None:
        from smolagents.local_python_executor import LocalPythonExecutor

        self.executor = LocalPythonExecutor(additional_authorized_imports=[])
        self.executor.send_tools({})

    def run(self, program: str) -> Any:
        return self.executor(f"{program}\nsolution()").output

    def close(self) -> None:
        pass


CONTENDERS: list[type[Contender]] = [PromptlabSandbox, RawExec, FreshInterpreter, SmolagentsExecutor]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(contenders: list[Contender], programs: list[dict[str, Any]], rounds: int,
            gap_s: float) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    for round_index in range(rounds):
        order = contenders[round_index % len(contenders):] + contenders[:round_index % len(contenders)]
        for example in programs:
            for contender in order:
                if gap_s:
                    time.sleep(gap_s)
                started = time.perf_counter()
                value = contender.run(example["program"])
                times[contender.name].append(time.perf_counter() - started)
                if value != example["answer"]:
                    raise AssertionError(f"{contender.name} returned {value!r}, expected {example['answer']!r}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="times each contender runs each program")
    parser.add_argument("--gap-ms", type=float, default=0.0, help="pause before each run (model time)")
    parser.add_argument("--only", nargs="*", help="contender names to run (substring match)")
    args = parser.parse_args()

    programs = [json.loads(line) for line in PROGRAMS.read_text().splitlines() if line.strip()]
    classes = [c for c in CONTENDERS if not args.only or any(o in c.name for o in args.only)]
    contenders: list[Contender] = []
    for cls in classes:
        try:
            contenders.append(cls())
        except ImportError as exc:
            print(f"skipped {cls.name}: {exc} (pip install -e '.[bench]')", file=sys.stderr)
    load_before = os.getloadavg()[0]
    try:
        measure(contenders, programs, 2, 0.0)  # warm-up, not reported
        times = measure(contenders, programs, args.rounds, args.gap_ms / 1000)
    finally:
        for contender in contenders:
            contender.close()
    load_after = os.getloadavg()[0]

    floor = statistics.median(times[RawExec.name]) if RawExec.name in times else None
    print(f"{len(programs)} PAL GSM8K programs x {args.rounds} rounds, gap {args.gap_ms:g} ms, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}")
    print()
    print("| executor | p50 ms | p95 ms | p50 vs raw exec |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        p50 = statistics.median(values)
        ratio = f"{p50 / floor:.0f}x" if floor else "-"
        print(f"| {name} | {p50 * 1e3:.2f} | {percentile(values, 0.95) * 1e3:.2f} | {ratio} |")
    if PromptlabSandbox.name in times and FreshInterpreter.name in times:
        speedup = statistics.median(times[FreshInterpreter.name]) / statistics.median(times[PromptlabSandbox.name])
        print(f"\nThe sandbox's p50 is {speedup:.1f}x faster than a fresh interpreter per program.")


if __name__ == "__main__":
    main()
