"""``promptlab run cot|pal QUESTION``: answer one question with a reasoning strategy.

``run_app`` is the command group; other strategies register their command on it from
their own module (e.g. ``@run_app.command("react")``), sharing the options and
:func:`report` defined here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer

from promptlab.backends import Backend
from promptlab.cli.common import (
    BackendOptionOpt,
    StreamOpt,
    fail,
    friendly_errors,
    open_backend,
    print_json,
    streaming_wanted,
    text_argument,
)
from promptlab.cli.echo import EchoBackend
from promptlab.prompts.fewshot import (
    BM25Selector,
    ExampleSelector,
    FixedSelector,
    MMRSelector,
    PoolSelector,
    RandomSelector,
    SimilaritySelector,
    load_examples,
)
from promptlab.runners.answers import default_extractor
from promptlab.runners.cot import UNGROUNDED_WEIGHT, ChainOfThoughtRunner
from promptlab.runners.flow import Runner
from promptlab.runners.pal import PALRunner
from promptlab.runners.result import RunResult

__all__ = [
    "AdaptiveOpt",
    "BackendOpt",
    "ExamplesOpt",
    "GreedyVoteOpt",
    "JsonOpt",
    "MaxTokensOpt",
    "NOpt",
    "QuestionArg",
    "SeedOpt",
    "SelectorName",
    "SelectorOpt",
    "ShotsOpt",
    "TemperatureOpt",
    "TraceOpt",
    "cot",
    "pal",
    "report",
    "run_app",
    "run_on",
    "selector_for",
]

run_app = typer.Typer(help="Answer a question with a reasoning strategy and print the answer.",
                      no_args_is_help=True)

QuestionArg = Annotated[str, typer.Argument(help="The question to answer; - reads it from standard input.")]
BackendOpt = Annotated[str, typer.Option(help="Backend spec, e.g. llamacpp, mock:FILE.json, openai:URL.")]
NOpt = Annotated[int, typer.Option("--n", "-n", min=1, help="Samples to vote over (self-consistency).")]
TemperatureOpt = Annotated[float | None, typer.Option(help="Sampling temperature (default: 0, or 0.5 when n > 1).")]
MaxTokensOpt = Annotated[int | None, typer.Option(help="Most tokens per completion.")]
SeedOpt = Annotated[int | None, typer.Option(help="Random seed for sampling.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print answer, status, votes, agreement and steps as JSON.")]
TraceOpt = Annotated[Path | None, typer.Option(help="Append the run's trace to this JSONL file.")]
ExamplesOpt = Annotated[Path | None, typer.Option(help="Few-shot pool (.jsonl or .yaml) instead of the default.")]
ShotsOpt = Annotated[int | None, typer.Option(min=0, help="How many examples to put in the prompt.")]
GreedyVoteOpt = Annotated[bool, typer.Option(help="With --n: the greedy answer is the first vote (ties go to it).")]
AdaptiveOpt = Annotated[bool, typer.Option(help="With --n: sample in rounds of 2, stop once the vote is settled.")]
SelectorName = Literal["fixed", "random", "bm25", "similarity", "mmr"]
SelectorOpt = Annotated[SelectorName, typer.Option(help="How to choose the examples for the question.")]


def selector_for(examples: Path | None, shots: int | None, selector: SelectorName) -> ExampleSelector | None:
    """The selector the options describe; None keeps the template's default examples."""
    if examples is None and shots is None and selector == "fixed":
        return None
    if examples is None:
        fail("--shots and --selector need --examples FILE (a .jsonl or .yaml pool)")
    pool = load_examples(examples)
    kinds: dict[str, type[PoolSelector]] = {"fixed": FixedSelector, "random": RandomSelector, "bm25": BM25Selector,
                                            "similarity": SimilaritySelector, "mmr": MMRSelector}
    return kinds[selector](pool, k=shots)


def run_on(spec: str, options: list[str] | None, question: str, trace: Path | None,
           make_runner: Callable[[Backend], Runner], *, echo: bool = False) -> RunResult:
    """Load the backend ``spec`` names, answer ``question`` with the runner built on it, close the backend.

    ``echo``: show the model's text on stdout as it is generated (display only, see :class:`EchoBackend`).
    """
    text = text_argument(question, "question")
    with open_backend(spec, options) as engine:
        return make_runner(EchoBackend(engine) if echo else engine).run(text, trace=trace)


def echo_wanted(stream: bool, json_output: bool, trace: Path | None) -> bool:
    """Stream a run's model text: on a terminal, unless the run's JSON or trace is kept (they need exact usage)."""
    return streaming_wanted(stream) and not json_output and trace is None


def report(result: RunResult, json_output: bool) -> None:
    """Print the answer (stdout) and votes (stderr), or everything as JSON; exit 1 without an answer."""
    if json_output:
        print_json({"answer": result.answer, "status": result.status, "votes": result.votes,
                    "agreement": result.agreement, "samples": result.samples, "detail": result.detail,
                    "steps": result.trace.steps})
        return
    if result.answer is None:
        last = result.detail or (result.trace.steps[-1].observation if result.trace.steps else None)
        typer.echo(f"no answer ({result.status})" + (f": {last}" if last else ""), err=True)
        raise typer.Exit(1)
    typer.echo(result.answer)
    if result.votes:
        tally = ", ".join(f"{answer} x{count}" for answer, count in result.votes.items())
        typer.echo(f"votes: {tally} (agreement {result.agreement:.2f}, {result.samples} samples)"
                   + (f"; {result.detail}" if result.detail else ""), err=True)


@run_app.command("cot")
def cot(
    question: QuestionArg,
    backend: BackendOpt = "llamacpp",
    backend_option: BackendOptionOpt = None,
    n: NOpt = 1,
    greedy_vote: GreedyVoteOpt = False,
    adaptive: AdaptiveOpt = False,
    temperature: TemperatureOpt = None,
    max_new_tokens: MaxTokensOpt = None,
    seed: SeedOpt = None,
    examples: ExamplesOpt = None,
    shots: ShotsOpt = None,
    selector: SelectorOpt = "fixed",
    answer_regex: Annotated[str | None, typer.Option(help="Read the answer with this regex (group 1).")] = None,
    check_arithmetic: Annotated[bool, typer.Option(
        help="Recompute the equations the rationale states; an answer they computed wrong is corrected.")] = True,
    ungrounded_weight: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="What a vote counts when its rationale did not compute the answer from the "
        "question's numbers (1: all votes alike).")] = UNGROUNDED_WEIGHT,
    json_output: JsonOpt = False,
    trace: TraceOpt = None,
    stream: StreamOpt = True,
) -> None:
    """Chain-of-thought with few-shot exemplars (default: 8 GSM8K ones); --n N votes over N samples."""
    with friendly_errors():
        chosen = selector_for(examples, shots, selector)
        result = run_on(backend, backend_option, question, trace, lambda engine: ChainOfThoughtRunner(
            engine, examples=chosen, n=n, greedy_vote=greedy_vote, adaptive=adaptive, temperature=temperature,
            max_new_tokens=max_new_tokens, seed=seed, extractor=answer_regex or default_extractor,
            check_arithmetic=check_arithmetic, ungrounded_weight=ungrounded_weight),
            echo=echo_wanted(stream, json_output, trace))
    report(result, json_output)


@run_app.command("pal")
def pal(
    question: QuestionArg,
    backend: BackendOpt = "llamacpp",
    backend_option: BackendOptionOpt = None,
    n: NOpt = 1,
    greedy_vote: GreedyVoteOpt = False,
    adaptive: AdaptiveOpt = False,
    temperature: TemperatureOpt = None,
    max_new_tokens: MaxTokensOpt = None,
    seed: SeedOpt = None,
    max_retries: Annotated[int, typer.Option(min=0, help="Ask again with the error when a program fails.")] = 0,
    timeout: Annotated[float | None, typer.Option(help="Seconds each program may run.")] = None,
    memory_mb: Annotated[int | None, typer.Option(help="Memory each program may use.")] = None,
    scoped: Annotated[bool, typer.Option(
        help="Write the program a line at a time, each line reading only names already assigned.")] = False,
    examples: ExamplesOpt = None,
    shots: ShotsOpt = None,
    selector: SelectorOpt = "fixed",
    json_output: JsonOpt = False,
    trace: TraceOpt = None,
    stream: StreamOpt = True,
) -> None:
    """Program-aided LM: the model writes solution(), the sandbox runs it; --n N votes over N programs."""
    with friendly_errors():
        chosen = selector_for(examples, shots, selector)
        result = run_on(backend, backend_option, question, trace, lambda engine: PALRunner(
            engine, examples=chosen, n=n, greedy_vote=greedy_vote, adaptive=adaptive, temperature=temperature,
            max_new_tokens=max_new_tokens, seed=seed, max_retries=max_retries, timeout=timeout, memory_mb=memory_mb,
            scoped=scoped),
            echo=echo_wanted(stream, json_output, trace))
    report(result, json_output)
