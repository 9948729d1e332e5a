"""The ``promptlab`` Typer application: one module per command group."""

from __future__ import annotations

import typer

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
def root() -> None:
    """Prompting strategies (CoT, PAL, ReAct) on local, quantized and remote language models."""


def main() -> None:
    """Console entry point."""
    app()
