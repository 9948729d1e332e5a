"""The ``promptlab`` Typer application: one module per command group."""

from __future__ import annotations

import typer

from promptlab.cli.generate import generate

app = typer.Typer(
    name="promptlab",
    help="Prompting strategies (CoT, PAL, ReAct) on local, quantized and remote language models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(generate)


@app.callback()
def root() -> None:
    """Prompting strategies (CoT, PAL, ReAct) on local, quantized and remote language models."""


def main() -> None:
    """Console entry point."""
    app()
