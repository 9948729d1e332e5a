"""Chain-of-thought with self-consistency: sample several rationales and vote over their answers.

    python examples/cot_self_consistency.py                        # the embedded SmolLM2-135M model
    python examples/cot_self_consistency.py --n 8 --temperature 0.8
    python examples/cot_self_consistency.py --backend mock:examples/data/cot_mock.json

Prints each sampled rationale with the answer read from it, then the vote.
"""

from __future__ import annotations

import argparse

from promptlab.backends import load_backend
from promptlab.runners.cot import ChainOfThoughtRunner

QUESTION = (
    "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total does it take?"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="llamacpp", help="backend spec (default: the embedded model)")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--n", type=int, default=5, help="rationales to sample and vote over")
    parser.add_argument("--temperature", type=float, default=None, help="default 0.7 when n > 1")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--trace", default=None, help="append the trace to this JSONL file")
    args = parser.parse_args(argv)

    with load_backend(args.backend) as backend:
        runner = ChainOfThoughtRunner(backend, n=args.n, temperature=args.temperature,
                                      max_new_tokens=args.max_new_tokens, seed=args.seed)
        result = runner.run(args.question, trace=args.trace)

    print(f"Question: {args.question}\n")
    for step in result.trace.steps:
        if step.kind == "generate":
            print(f"--- sample {step.data['sample']} -> {step.data['answer']}")
            print((step.completion or "").strip() + "\n")
    print(f"Answer: {result.answer}  (status: {result.status})")
    if result.votes:
        print(f"Votes: {result.votes}  agreement: {result.agreement:.2f}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
