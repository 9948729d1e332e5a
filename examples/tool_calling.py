"""Native tool calling: a calculator + retriever agent, on the embedded model or on a server.

The tools go to the backend as function schemas (``chat(..., tools=...)``); the model calls
them in its own format and each result comes back as a ``tool`` message, until it calls
``finish``. On the embedded SmolLM2 (its ChatML template has no tool syntax) the backend uses
``tool_format="json"``: the tools are described in the system message and, with
``tool_choice="required"``, each reply is constrained to a valid call of one of them. On a
server, the OpenAI ``tools`` / ``tool_choice`` fields carry them.

    python examples/tool_calling.py                                        # the embedded model
    python examples/tool_calling.py --question "How high do the High Plains rise, minus 1800 feet?"
    python examples/tool_calling.py --backend openai:http://127.0.0.1:8080/v1
    # a server whose model's template and parser do tool calls (vLLM with --tool-call-parser,
    # llama-server --jinja with a tool-capable model); for a model without (the embedded SmolLM2
    # on llama.cpp's llama-server), JSON calls constrained through the server's json_schema:
    python examples/tool_calling.py --backend 'openai:http://127.0.0.1:8080/v1?tool_format=json'

The bundled documents (examples/data/rag_documents.jsonl) are short extracts of Wikipedia
articles (CC BY-SA 4.0) quoted in the ReAct paper's prompts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from promptlab.backends import Backend, load_backend
from promptlab.runners import RunResult, ToolCallingReActRunner
from promptlab.tools import Calculator, Retriever, Tool

DOCUMENTS = Path(__file__).parent / "data" / "rag_documents.jsonl"
QUESTION = "The High Plains rise to about how many feet? Subtract 1800 from it."


def tools(documents: Path = DOCUMENTS) -> list[Tool[Any]]:
    """The agent's tools: arithmetic, and BM25 search over the documents."""
    records = [json.loads(line) for line in documents.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Calculator(), Retriever.bm25(records, k=2)]


def open_backend(spec: str) -> Backend:
    """The backend for ``spec``; an in-process one gets JSON tool calls when its template has no tool syntax."""
    backend = load_backend(spec)
    if not backend.tool_calling:
        backend.tool_format = "json"
    return backend


def run_agent(backend: Backend, question: str, tool_choice: str, max_steps: int = 4) -> RunResult:
    """Answer ``question`` with native tool calls; every step is in the result's trace."""
    runner = ToolCallingReActRunner(backend, tools=tools(), tool_choice=tool_choice, max_steps=max_steps,
                                    max_new_tokens=96)
    return runner.run(question)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="llamacpp", help="backend spec (default: the embedded model)")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--tool-choice", default=None,
                        help='"required" (the default with JSON tool calls: every reply is a checked call), "auto" '
                             "(the default with a server's own tool calls), or a tool's name")
    parser.add_argument("--max-steps", type=int, default=4)
    args = parser.parse_args(argv)

    with open_backend(args.backend) as backend:
        forced = backend.tool_format == "json"  # JSON calls are constrained only when a call is required
        result = run_agent(backend, args.question, args.tool_choice or ("required" if forced else "auto"),
                           args.max_steps)

    print(f"Question: {args.question}\n")
    for step in result.trace.steps:
        sent = (step.data.get("sent") or {}).get("tool_calls") or []
        for call in sent:
            problem = f"  [error: {call['error']}]" if call["error"] else ""
            print(f"Call {step.data.get('step')}: {call['name']}({call['arguments_json']}){problem}")
        if not sent and step.completion:
            print(f"Reply {step.data.get('step')}: {step.completion.strip()[:120]}")
        if step.observation:
            print(f"  -> {step.observation[:160]}")
    print(f"\nAnswer: {result.answer}  (status: {result.status}, {len(result.trace.steps)} steps)")
    return 0 if result.status == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
