"""A ReAct agent (Yao et al., 2023) answering a question with Wikipedia: Thought / Action / Observation.

    python examples/react_wikipedia.py --offline-fixtures            # local mini-Wikipedia, embedded model
    python examples/react_wikipedia.py --offline-fixtures --backend mock:examples/data/react_mock.json
    python examples/react_wikipedia.py --wiki-url http://127.0.0.1:8080/w/api.php --question "..."
    python examples/react_wikipedia.py --backend openai:http://127.0.0.1:8000/v1 --tools wikipedia,calculator

``--offline-fixtures`` serves examples/data/wiki_pages.json (a dozen short Wikipedia
extracts, CC BY-SA 4.0) from a MediaWiki API on 127.0.0.1, so the agent runs without the
internet. Without it, the tool queries ``--wiki-url`` (default: en.wikipedia.org).
The embedded 135M model rarely follows the format for long; the loop turns its slips
into corrective observations and stops after ``--max-steps``.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from promptlab.backends import load_backend
from promptlab.runners.react import ReActRunner
from promptlab.tools import WIKIPEDIA_API_URL, Calculator, LocalWikipedia, PythonTool, Tool, WikipediaEnv

PAGES = Path(__file__).parent / "data" / "wiki_pages.json"
QUESTION = "Which magazine was started first Arthur's Magazine or First for Women?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="llamacpp", help="backend spec (default: the embedded model)")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--wiki-url", default=WIKIPEDIA_API_URL, help="MediaWiki API endpoint")
    parser.add_argument("--offline-fixtures", nargs="?", const=PAGES, type=Path, default=None, metavar="PAGES.json",
                        help="serve these pages locally instead of using --wiki-url (default file: %(const)s)")
    parser.add_argument("--tools", default="wikipedia", help="comma-separated: wikipedia, calculator, python")
    parser.add_argument("--max-steps", type=int, default=7)
    parser.add_argument("--trace", default=None, help="append the trace to this JSONL file")
    args = parser.parse_args(argv)

    with ExitStack() as stack:
        wiki_url = args.wiki_url
        if args.offline_fixtures is not None:
            wiki_url = stack.enter_context(LocalWikipedia.from_file(args.offline_fixtures)).api_url
        names = {name.strip() for name in args.tools.split(",")}

        def tools() -> list[Tool[Any]]:  # a fresh Wikipedia episode per question
            chosen: list[Tool[Any]] = WikipediaEnv(wiki_url).tools() if "wikipedia" in names else []
            return chosen + [Calculator()] * ("calculator" in names) + [PythonTool()] * ("python" in names)

        backend = stack.enter_context(load_backend(args.backend))
        runner = ReActRunner(backend, tools=tools, max_steps=args.max_steps)
        result = runner.run(args.question, trace=args.trace)

    print(f"Question: {args.question}")
    for step in result.trace.steps:
        if step.kind != "action" or step.action is None:
            continue
        number = step.data["step"]
        print(f"Thought {number}: {step.data['thought']}")
        print(f"Action {number}: {step.action['tool']}[{step.action['argument']}]")
        if step.observation is not None:
            print(f"Observation {number}: {step.observation}")
    print(f"\nAnswer: {result.answer}  (status: {result.status}, {len(result.trace.steps)} steps, "
          f"{result.trace.prompt_tokens} prompt tokens)")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
