"""``promptlab trace show|html``: read JSONL trace files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.rule import Rule

from promptlab.cli.common import fail
from promptlab.eval.trace_view import render_trace, traces_page
from promptlab.tracing import Trace, read_traces

__all__ = ["FileArg", "IndexOpt", "html", "show", "trace_app"]

trace_app = typer.Typer(help="Show trace files written by runners (--trace FILE) and evaluations.",
                        no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="A JSONL trace file.")]
IndexOpt = Annotated[int | None, typer.Option("--index", "-i", help="Only the trace at this position (from 0).")]


def _load(path: Path, index: int | None) -> list[Trace]:
    if not path.is_file():
        fail(f"trace file {str(path)!r} does not exist")
    try:
        traces = read_traces(path)
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        fail(f"{str(path)!r} is not a promptlab trace file: {exc}")
    if not traces:
        fail(f"{str(path)!r} holds no traces")
    if index is None:
        return traces
    if not -len(traces) <= index < len(traces):
        fail(f"--index {index} is out of range: {str(path)!r} holds {len(traces)} traces")
    return [traces[index]]


@trace_app.command("show")
def show(
    path: FileArg,
    index: IndexOpt = None,
    full: Annotated[bool, typer.Option(help="Print whole prompts instead of only their new part.")] = False,
) -> None:
    """Print the traces in FILE readably."""
    traces = _load(path, index)
    console = Console()
    for number, trace in enumerate(traces):
        if len(traces) > 1:
            console.print(Rule(f"trace {number + 1} of {len(traces)}"))
        console.print(render_trace(trace, full=full))


@trace_app.command("html")
def html(
    path: FileArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
    index: IndexOpt = None,
) -> None:
    """Write the traces in FILE as one self-contained HTML page."""
    traces = _load(path, index)
    try:
        output.write_text(traces_page(traces, title=f"Traces: {path.name}"), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {str(output)!r}: {exc.strerror}")
    typer.echo(f"wrote {len(traces)} trace(s) to {output}")
