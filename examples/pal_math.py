"""PAL on a math word problem: the model writes ``solution()``, the sandbox runs it.

    python examples/pal_math.py                                   # the embedded SmolLM2-135M model
    python examples/pal_math.py --n 3 --max-retries 1 --question "Janet's ducks lay 16 eggs per day. ..."
    python examples/pal_math.py --backend mock:examples/data/pal_mock.json --n 3

Prints the question, each generated program with its sandbox result, and the answer
(with the votes when --n > 1).
"""

from __future__ import annotations

import argparse

from promptlab.backends import load_backend
from promptlab.runners.pal import PALRunner

QUESTION = "Tom has 5 apples. He buys 7 more apples. How many apples does he have now?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="llamacpp", help="backend spec (default: the embedded model)")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--n", type=int, default=1, help="programs to sample and vote over")
    parser.add_argument("--temperature", type=float, default=None, help="default 0, or 0.7 when n > 1")
    parser.add_argument("--max-retries", type=int, default=0, help="re-ask with the error when a program fails")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="most tokens per program")
    parser.add_argument("--trace", default=None, help="append the trace to this JSONL file")
    args = parser.parse_args(argv)

    with load_backend(args.backend) as backend:
        runner = PALRunner(backend, n=args.n, temperature=args.temperature, max_retries=args.max_retries,
                           max_new_tokens=args.max_new_tokens)
        result = runner.run(args.question, trace=args.trace)

    print(f"Question: {args.question}\n")
    for step in result.trace.steps:
        if step.kind != "execute":
            continue
        label = f"sample {step.data['sample']}" + (f", retry {step.data['retry']}" if step.data["retry"] else "")
        print(f"--- program ({label})")
        print((step.action or {}).get("code", "(no code in the completion)"))
        sandbox = step.data.get("sandbox", {})
        print(f"--> {step.data['status']}: {step.observation}"
              + (f"  [{sandbox['duration_s'] * 1000:.1f} ms in the sandbox]" if sandbox else "") + "\n")
    print(f"Answer: {result.answer}  (status: {result.status})")
    if result.votes:
        print(f"Votes: {result.votes}  agreement: {result.agreement:.2f}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
