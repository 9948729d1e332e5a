"""Constrained decoding: per-token decode cost with and without a constraint, side by side in one run.

    python benchmarks/constraints.py                     # llama.cpp and transformers
    python benchmarks/constraints.py --only llamacpp --rounds 5 --tokens 64

For each engine (the embedded SmolLM2-135M), the same prompt is decoded greedily with no
constraint and under each constraint kind; runs are interleaved round by round and each
cell is the median seconds per generated token. The prompt is cached first, so the time is
decoding (plus the mask: llguidance's computation and applying it to the logits). The
constraints are chosen to keep generating until ``--tokens``, so every run decodes about
the same number of tokens. Target: at most 10% slower per token.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from promptlab.backends.base import Backend  # noqa: E402
from promptlab.config import GenerationConfig  # noqa: E402
from promptlab.constraints import Choice, Constraint, Grammar, JsonSchema, Regex  # noqa: E402

PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle.\n\nStory:"
LONG_CHOICE = tuple(f" option number {i} of a long list of choices, each one a bit different" for i in range(200))
CONSTRAINTS: dict[str, Constraint | None] = {
    "none": None,
    "regex": Regex(pattern=r"[A-Za-z ,.'\n]{400,}"),
    "json_schema": JsonSchema.of({
        "type": "array", "minItems": 40,
        "items": {"type": "object", "required": ["name", "age", "town"], "additionalProperties": False,
                  "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "town": {"type": "string"}}},
    }),
    "grammar": Grammar(lark="start: " + " ".join(["sentence"] * 12) + """
sentence: WORD (" " WORD)* ("." | "!" | "?") " "?
WORD: /[A-Za-z']{1,12}/
"""),
    "choice (200 options)": Choice(options=LONG_CHOICE),
}


def per_token(backend: Backend, constraint: Constraint | None, tokens: int) -> tuple[float, int]:
    config = GenerationConfig(max_new_tokens=tokens, constraint=constraint)
    completion = backend.complete(PROMPT, config)
    used = max(completion.usage.completion_tokens, 1)
    return completion.latency_s / used if completion.latency_s else 0.0, used


def measure(name: str, backend: Backend, rounds: int, tokens: int) -> list[dict[str, object]]:
    for constraint in CONSTRAINTS.values():  # warm up: prompt cache, llguidance tokenizer, grammar compile
        backend.complete(PROMPT, GenerationConfig(max_new_tokens=4, constraint=constraint))
    samples: dict[str, list[float]] = {kind: [] for kind in CONSTRAINTS}
    counts: dict[str, list[int]] = {kind: [] for kind in CONSTRAINTS}
    for _ in range(rounds):
        for kind, constraint in CONSTRAINTS.items():
            seconds, used = per_token(backend, constraint, tokens)
            samples[kind].append(seconds)
            counts[kind].append(used)
    base = statistics.median(samples["none"])
    rows = []
    for kind in CONSTRAINTS:
        median = statistics.median(samples[kind])
        rows.append({"engine": name, "constraint": kind, "ms_per_token": round(median * 1000, 2),
                     "tokens": int(statistics.median(counts[kind])), "ratio": round(median / base, 3)})
    return rows


def llamacpp() -> Backend:
    from promptlab.backends.llamacpp import LlamaCppBackend

    return LlamaCppBackend()


def hf() -> Backend:
    from promptlab.backends.embedded import embedded_model_path
    from promptlab.backends.hf import HFBackend

    return HFBackend(embedded_model_path(), device="cpu")


ENGINES: dict[str, Callable[[], Backend]] = {"llamacpp": llamacpp, "hf": hf}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(ENGINES), action="append")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="print rows as JSON lines")
    args = parser.parse_args()
    if not args.json:
        print("| engine | constraint | ms/token (median) | tokens | vs none |")
        print("|---|---|---|---|---|")
    for name in args.only or list(ENGINES):
        with ENGINES[name]() as backend:
            for row in measure(name, backend, args.rounds, args.tokens):  # each engine's rows as soon as done
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    print(f"| {row['engine']} | {row['constraint']} | {row['ms_per_token']} | {row['tokens']} | "
                          f"{(float(str(row['ratio'])) - 1) * 100:+.1f}% |", flush=True)


if __name__ == "__main__":
    main()
