"""``promptlab eval`` (run a strategy over a dataset, resumably) and ``promptlab report`` (compare runs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from promptlab.backends import load_backend
from promptlab.cli.common import fail, friendly_errors
from promptlab.eval.checkpoint import Checkpoint, EvalConfig, ItemResult
from promptlab.eval.datasets import Task, dataset_names, load_dataset
from promptlab.eval.harness import EvalOutcome, run_evaluation
from promptlab.eval.report import summarize, write_report
from promptlab.eval.strategies import STRATEGIES, build_runner

__all__ = ["eval_command", "report_command"]

_DATASETS = ", ".join(dataset_names())


def eval_command(
    dataset: Annotated[str, typer.Argument(help=f"A dataset name ({_DATASETS}) or a JSON/JSONL file.")],
    strategy: Annotated[str, typer.Option(help=f"One of: {', '.join(STRATEGIES)}.")] = "direct",
    backend: Annotated[str, typer.Option(help="Backend spec, e.g. llamacpp, openai:URL, mock:FILE.")] = "llamacpp",
    out: Annotated[Path, typer.Option(help="Directory for eval.json, results.jsonl, traces.jsonl and the report.")]
    = Path("eval-out"),
    limit: Annotated[int | None, typer.Option(help="Only the first K items.", min=1)] = None,
    n: Annotated[int, typer.Option(help="Samples per question (self-consistency vote).", min=1)] = 1,
    concurrency: Annotated[int, typer.Option(help="Items in flight at once (server backends gain).", min=1)] = 1,
    strict: Annotated[bool, typer.Option(help="Stop at a malformed dataset record instead of skipping it.")]
    = False,
    data_dir: Annotated[Path | None, typer.Option(help="Where the shared datasets are (default: $PROMPTLAB_DATA "
                                                       "or shared/data beside the repo).")] = None,
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
        config = EvalConfig(dataset=data.name, dataset_path=str(data.path.resolve()), fingerprint=data.fingerprint,
                            task=data.task, strategy=strategy, backend=backend, n=n, options=options)
        with load_backend(backend) as engine:
            try:  # before the checkpoint: a bad option must not leave an eval.json behind
                runner = build_runner(strategy, engine, n=n, **options)
            except TypeError as exc:  # an option the runner does not take
                fail(f"--option: {exc}")
            checkpoint = Checkpoint.open(out, config, force=force)
            selected = {e.id for e in data.items[:limit]}
            finished = checkpoint.finished_ids(retry_errors=retry_errors) & selected
            prior = [r for r in checkpoint.results if r.id in finished]
            if prior:
                typer.echo(f"resuming {out}: {len(prior)} of {len(selected)} items already done", err=True)

            def run(on_result: Callable[[ItemResult], None]) -> EvalOutcome:
                return run_evaluation(data, runner, checkpoint, concurrency=concurrency, limit=limit,
                                      retry_errors=retry_errors, on_result=on_result)

            try:
                outcome = _with_progress(f"{strategy} on {data.name}", len(selected), prior, progress, run)
            except KeyboardInterrupt:
                fail("interrupted; the finished items are saved, rerun the same command to resume", code=130)
            finally:
                checkpoint.close()
        markdown, page = write_report([out], out)
        summary = summarize(out)
    typer.echo(f"{summary.label}: accuracy {summary.accuracy:.1%} on {summary.count} items"
               + (f", F1 {summary.mean_f1:.3f}" if summary.mean_f1 is not None else ""))
    typer.echo(f"report: {markdown} and {page}")
    if outcome.aborted:
        fail(f"stopped early with {outcome.remaining} item(s) left: {outcome.aborted}; "
             "rerun the same command to resume")


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


def _with_progress(description: str, total: int, prior: list[ItemResult], show: bool,
                   run: Callable[[Callable[[ItemResult], None]], EvalOutcome]) -> EvalOutcome:
    """Run with a progress bar (ETA, running accuracy) over the items of this and earlier runs."""
    if not show:
        return run(lambda result: None)
    finished, correct = len(prior), sum(r.correct for r in prior)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("acc {task.fields[accuracy]}"), TimeElapsedColumn(), TextColumn("eta"),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        accuracy = f"{correct / finished:.1%}" if finished else "-"
        task_id = bar.add_task(description, total=total, completed=finished, accuracy=accuracy)

        def advance(result: ItemResult) -> None:
            nonlocal finished, correct
            finished, correct = finished + 1, correct + result.correct
            bar.update(task_id, advance=1, accuracy=f"{correct / finished:.1%}")

        return run(advance)


def report_command(
    directories: Annotated[list[Path], typer.Argument(help="Evaluation directories to compare.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Directory for report.md and report.html "
                                                "(default: the evaluation directory, when there is one).")] = None,
) -> None:
    """Write a Markdown and an HTML report comparing evaluation directories."""
    if output is None:
        if len(directories) != 1:
            fail("comparing several evaluations needs --output DIR")
        output = directories[0]
    with friendly_errors():
        markdown, page = write_report(directories, output)
    typer.echo(f"report: {markdown} and {page}")
