"""The ``promptlab`` Typer application: one module per command group."""

from __future__ import annotations

from typing import Annotated

import typer

from promptlab.cli.console import OneLineErrors, configure_output, version_callback
from promptlab.cli.datasets import list_datasets
from promptlab.cli.demo import demo
from promptlab.cli.eval import eval_command, report_command
from promptlab.cli.generate import generate
from promptlab.cli.run import run_app
from promptlab.cli.run_react import react
from promptlab.cli.sandbox import sandbox
from promptlab.cli.templates import list_templates, render
from promptlab.cli.trace import trace_app

__all__ = ["app", "main", "root"]

app = typer.Typer(
    name="promptlab",
    help="Prompting strategies (CoT, PAL, ReAct) on local, quantized and remote language models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=OneLineErrors,
)
app.command()(demo)
app.command()(generate)
app.command("templates")(list_templates)
app.command()(render)
app.command("eval")(eval_command)
app.command("datasets")(list_datasets)
app.command("report")(report_command)
app.add_typer(trace_app, name="trace")
app.add_typer(run_app, name="run")
run_app.command("react")(react)
app.command()(sandbox)


@app.callback()
def root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what promptlab does (info level).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log errors only, no warnings.")] = False,
    version: Annotated[bool | None, typer.Option(
        "--version", callback=version_callback, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    """Prompting strategies (CoT, PAL, ReAct) on local, quantized and remote language models."""
    configure_output(verbose=verbose, quiet=quiet)


def main() -> None:
    """Console entry point."""
    app()
