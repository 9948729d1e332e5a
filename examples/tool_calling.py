"""Native tool calling: a calculator + retriever agent, on the embedded model or on a server.

The tools go to the backend as function schemas (``chat(..., tools=...)``); the model calls
them in its own format and each result comes back as a ``tool`` message, until it calls
``finish``. On the embedded SmolLM2 (its ChatML template has no tool syntax) the backend uses
``tool_format="json"``: the tools are described in the system message and, with
``tool_choice="required"``, each reply is constrained to a valid call of one of them. On a
server, the OpenAI ``tools`` / ``tool_choice`` fields carry them.

    python examples/tool_calling.py                                        # the embedded model
    python examples/tool_calling.py --question "How high do the High Plains rise, minus 1800 feet?"
    python examples/tool_calling.py --backend openai:http://127.0.0.1:8000/v1
    # a llama-cpp-python server that speaks OpenAI tool calls:
    #   python -m llama_cpp.server --model MODEL.gguf --chat_format chatml-function-calling

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
                        help='"required" (default in process: every reply is a checked call), "auto" (default on a '
                             "server), or a tool's name")
    parser.add_argument("--max-steps", type=int, default=4)
    args = parser.parse_args(argv)

    server = args.backend.startswith("openai:")
    with open_backend(args.backend) as backend:
        result = run_agent(backend, args.question, args.tool_choice or ("auto" if server else "required"),
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
