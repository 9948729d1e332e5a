"""``promptlab eval`` (run a strategy over a dataset, resumably) and ``promptlab report`` (compare runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from promptlab.cli.common import BackendOptionOpt, fail, friendly_errors, open_backend
from promptlab.eval.api import default_out_dir, run_eval
from promptlab.eval.checkpoint import ItemResult
from promptlab.eval.datasets import Dataset, Task, dataset_names, load_dataset
from promptlab.eval.report import write_report
from promptlab.eval.strategies import STRATEGIES

__all__ = ["eval_command", "report_command"]

_DATASETS = ", ".join(dataset_names())


def eval_command(
    dataset: Annotated[str, typer.Argument(help=f"A dataset name ({_DATASETS}) or a JSON/JSONL file.")],
    strategy: Annotated[str, typer.Option(help=f"One of: {', '.join(STRATEGIES)}.")] = "direct",
    backend: Annotated[str, typer.Option(help="Backend spec, e.g. llamacpp, openai:URL, mock:FILE.")] = "llamacpp",
    backend_option: BackendOptionOpt = None,
    out: Annotated[Path | None, typer.Option(help="Directory for eval.json, results.jsonl, traces.jsonl and the "
                                                  "report (default: runs/DATASET-STRATEGY).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first K items.", min=1)] = None,
    shuffle: Annotated[int | None, typer.Option(
        metavar="SEED", help="Run the items in a random order fixed by SEED: with --limit K, a random sample of K "
                             "(a file's first items are often easier than the rest).")] = None,
    n: Annotated[int, typer.Option(help="Samples per question (self-consistency vote).", min=1)] = 1,
    concurrency: Annotated[int, typer.Option(help="Items in flight at once (server backends gain).", min=1)] = 1,
    strict: Annotated[bool, typer.Option(help="Stop at a malformed dataset record instead of skipping it.")]
    = False,
    data_dir: Annotated[Path | None, typer.Option(help="Your data directory (default: $PROMPTLAB_DATA): "
                                                       "its files override the shipped datasets.")] = None,
    task: Annotated[str | None, typer.Option(help="Scoring for a custom file: math or qa (default: guessed).")]
    = None,
    force: Annotated[bool, typer.Option(help="Discard the results already in --out and start over.")] = False,
    retry_errors: Annotated[bool, typer.Option(help="Run again the items that raised an error last time.")]
    = False,
    option: Annotated[list[str] | None, typer.Option(
        "--option", "-O", help="A runner option KEY=VALUE (JSON values), e.g. max_new_tokens=128; repeatable.")]
    = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Evaluate a strategy on a dataset; rerun the same command to resume an interrupted run."""
    with friendly_errors():
        if task not in (None, "math", "qa"):
            fail(f"--task must be math or qa, not {task!r}")
        chosen_task: Task | None = "math" if task == "math" else "qa" if task == "qa" else None
        data = load_dataset(dataset, data_dir=data_dir, strict=strict, task=chosen_task)
        if data.skipped:
            typer.echo(f"warning: skipped {len(data.skipped)} malformed record(s) in {data.path}: "
                       f"{'; '.join(data.skipped[:3])}{' ...' if len(data.skipped) > 3 else ''}", err=True)
        options = _runner_options(option or [])
        directory = out if out is not None else default_out_dir(data.name, strategy)
        with open_backend(backend, backend_option) as engine, _Progress(directory, progress) as bar:
            try:
                run = run_eval(data, strategy=strategy, backend=engine, backend_spec=backend, out=directory,
                               limit=limit, shuffle=shuffle, n=n, concurrency=concurrency, options=options,
                               force=force, retry_errors=retry_errors, progress=bar)
            except KeyboardInterrupt:
                fail("interrupted; the finished items are saved, rerun the same command to resume", code=130)
    summary, outcome = run.summary, run.outcome
    low, high = summary.interval
    typer.echo(f"{summary.label}: accuracy {summary.accuracy:.1%} on {summary.count} items "
               f"(95% CI {low:.1%} - {high:.1%}), {summary.mean_samples:.2f} samples per item"
               + (f", F1 {summary.mean_f1:.3f}" if summary.mean_f1 is not None else ""))
    typer.echo(f"results: {directory}; report: {run.report[0]} and {run.report[1]}")
    if outcome.aborted:
        fail(f"stopped early with {outcome.remaining} item(s) left: {outcome.aborted}; "
             "rerun the same command to resume")
    errors = [r for r in summary.results if r.status == "error"]
    if errors:
        typer.echo(f"warning: {len(errors)} of {summary.count} item(s) ended in an error (first: {errors[0].error}); "
                   "rerun with --retry-errors to run them again", err=True)
    if errors and len(errors) == summary.count:
        fail(f"every item ended in an error, e.g. {errors[0].error}", code=1)


def _runner_options(pairs: list[str]) -> dict[str, Any]:
    """``["max_steps=5", "stop=[\"Q:\"]", "template=cot"]`` -> values parsed as JSON, else kept as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            fail(f"--option {pair!r} must look like KEY=VALUE, e.g. max_new_tokens=128")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


class _Progress:
    """The progress bar (ETA, running accuracy over this and earlier runs) and the resume notice on stderr."""

    def __init__(self, directory: Path, show: bool) -> None:
        self.directory, self.show = directory, show
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._finished = self._correct = 0

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def start(self, data: Dataset, total: int, prior: list[ItemResult]) -> None:
        if prior:
            typer.echo(f"resuming {self.directory}: {len(prior)} of {total} items already done", err=True)
        if not self.show:
            return
        self._finished, self._correct = len(prior), sum(r.correct for r in prior)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("acc {task.fields[accuracy]}"), TimeElapsedColumn(), TextColumn("eta"),
                   TimeRemainingColumn())
        self._bar = Progress(*columns, console=Console(stderr=True))
        self._bar.start()
        self._task = self._bar.add_task(f"{self.directory.name}", total=total, completed=self._finished,
                                        accuracy=self._accuracy())

    def advance(self, result: ItemResult) -> None:
        self._finished, self._correct = self._finished + 1, self._correct + result.correct
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, accuracy=self._accuracy())

    def _accuracy(self) -> str:
        return f"{self._correct / self._finished:.1%}" if self._finished else "-"


def report_command(
    directories: Annotated[list[Path], typer.Argument(help="Evaluation directories to compare.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Directory for report.md and report.html "
                                                "(default: the evaluation directory, when there is one).")] = None,
    common: Annotated[bool, typer.Option("--common", help="Score every evaluation on the items they all have "
                                         "(compares runs that stopped at different points).")] = False,
) -> None:
    """Write a Markdown and an HTML report comparing evaluation directories side by side."""
    if output is None:
        if len(directories) != 1:
            fail("comparing several evaluations needs --output DIR")
        output = directories[0]
    with friendly_errors():
        markdown, page = write_report(directories, output, common=common)
    typer.echo(f"report: {markdown} and {page}")
