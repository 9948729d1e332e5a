"""``promptlab run react QUESTION``: the ReAct agent with Wikipedia, calculator, python or retrieval tools."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from promptlab import safe_json
from promptlab.backends import Backend
from promptlab.cli.common import BackendOptionOpt, StreamOpt, fail, friendly_errors, log
from promptlab.cli.run import (
    BackendOpt,
    JsonOpt,
    MaxTokensOpt,
    QuestionArg,
    SeedOpt,
    TemperatureOpt,
    TraceOpt,
    echo_wanted,
    report,
    run_on,
)
from promptlab.runners.cot import ChainOfThoughtRunner
from promptlab.runners.react import ReActRunner
from promptlab.runners.react_native import chat_react_runner
from promptlab.runners.result import RunResult
from promptlab.tools import WIKIPEDIA_API_URL, Calculator, PythonTool, Retriever, Tool, WikipediaEnv

__all__ = ["TOOL_NAMES", "load_documents", "react", "tool_factory"]

TOOL_NAMES = ("wikipedia", "calculator", "python", "retriever")


def react(
    question: QuestionArg,
    backend: BackendOpt = "llamacpp",
    backend_option: BackendOptionOpt = None,
    tools: Annotated[str, typer.Option(help=f"Comma-separated tools: {', '.join(TOOL_NAMES)}.")] = "wikipedia",
    max_steps: Annotated[int, typer.Option(min=1, help="Most Thought/Action/Observation steps.")] = 7,
    wiki_url: Annotated[str, typer.Option(help="MediaWiki API endpoint of the Wikipedia tool.")] = WIKIPEDIA_API_URL,
    wiki_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds a Wikipedia search may take.")] = 10.0,
    documents: Annotated[Path | None, typer.Option(
        help="Documents for the retriever tool: JSONL with {id, text} per line, or text with one per line.")]
    = None,
    chat: Annotated[bool, typer.Option(
        help="Chat-model variant: native tool calls where the backend takes tools (a server, a tool-capable "
             "chat template), else JSON tool calls in the text.")] = False,
    fallback_cot: Annotated[int, typer.Option(
        min=0, help="When ReAct finds no answer, fall back to chain-of-thought with N votes (0: off).")] = 0,
    temperature: TemperatureOpt = None,
    max_new_tokens: MaxTokensOpt = None,
    seed: SeedOpt = None,
    json_output: JsonOpt = False,
    trace: TraceOpt = None,
    stream: StreamOpt = True,
) -> None:
    """ReAct (Yao et al., 2023): interleave reasoning and tool calls until the model gives an answer."""
    with friendly_errors():
        factory = tool_factory(tools, wiki_url, wiki_timeout, documents)

        def build(engine: Backend) -> ReActRunner:
            fallback = None
            if fallback_cot:
                fallback = ChainOfThoughtRunner(engine, template="cot_hotpotqa", n=fallback_cot, seed=seed,
                                                extractor=r"Answer:\s*(.+)", max_new_tokens=max_new_tokens)
            make = chat_react_runner if chat else ReActRunner
            return make(engine, tools=factory, max_steps=max_steps, fallback=fallback,
                        temperature=temperature, max_new_tokens=max_new_tokens, seed=seed)

        result = flag_tool_errors(run_on(backend, backend_option, question, trace, build,
                                         echo=echo_wanted(stream, json_output, trace)))
    report(result, json_output)
    if result.status == "tool_errors":
        raise typer.Exit(1)


def flag_tool_errors(result: RunResult) -> RunResult:
    """Status ``tool_errors`` (and a warning) when the agent called tools and every call failed.

    Its answer then rests on no evidence, however confident it sounds.
    """
    kinds = [step.data.get("observation_kind") for step in result.trace.steps
             if step.kind == "action" and step.observation is not None]
    if not kinds or any(kind == "ok" for kind in kinds):
        return result
    log.warning("every tool call failed (%d of %d: %s); the answer is not backed by any observation",
                len(kinds), len(kinds), ", ".join(sorted(set(map(str, kinds)))))
    return result.model_copy(update={"status": "tool_errors"})


def tool_factory(spec: str, wiki_url: str, wiki_timeout: float,
                 documents: Path | None) -> Callable[[], list[Tool[Any]]]:
    """A function building a fresh set of the named tools for each run."""
    names = [name.strip().lower() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in TOOL_NAMES]
    if unknown or not names:
        problem = f"unknown tool {unknown[0]!r}" if unknown else "--tools is empty"
        fail(f"{problem}; choose from {', '.join(TOOL_NAMES)}")
    if "retriever" in names and documents is None:
        fail("the retriever tool needs --documents FILE")
    retriever = Retriever.bm25(load_documents(documents)) if documents is not None and "retriever" in names else None

    def build() -> list[Tool[Any]]:
        built: list[Tool[Any]] = []
        for name in dict.fromkeys(names):
            if name == "wikipedia":
                built += WikipediaEnv(wiki_url, timeout_s=wiki_timeout).tools()
            elif name == "calculator":
                built.append(Calculator())
            elif name == "python":
                built.append(PythonTool())
            elif retriever is not None:
                built.append(retriever)
        return built

    return build


def load_documents(path: Path) -> list[dict[str, Any]] | list[str]:
    """``{id, text}`` records from a JSONL file, or the non-empty lines of a text file."""
    if not path.is_file():
        fail(f"documents file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        fail(f"documents file {str(path)!r} is not UTF-8 text (invalid byte at offset {exc.start})")
    lines = [line for line in text.splitlines() if line.strip()]
    if path.suffix != ".jsonl":
        return lines
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        try:
            record = safe_json.loads(line)
        except safe_json.JsonLimitError as exc:
            fail(f"{str(path)!r} line {number} is not JSON: {exc}")
        if not isinstance(record, dict) or "text" not in record:
            fail(f"{str(path)!r} line {number} needs a \"text\" field")
        records.append(record)
    return records
