"""``promptlab demo``: PAL on the embedded model, explained step by step for a newcomer."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from promptlab.cli.common import BackendOptionOpt, friendly_errors, open_backend
from promptlab.runners.pal import PALRunner
from promptlab.tracing import Step

__all__ = ["DEMO_QUESTION", "demo"]

DEMO_QUESTION = "Tom has 5 apples. He buys 7 more apples at the market. How many apples does he have now?"


def demo(
    question: Annotated[str, typer.Option(help="The math word problem to solve.")] = DEMO_QUESTION,
    backend: Annotated[str, typer.Option(help="Backend spec; the default is the embedded SmolLM2 model.")]
    = "llamacpp",
    backend_option: BackendOptionOpt = None,
    max_new_tokens: Annotated[int, typer.Option(help="Most tokens for the generated program.")] = 200,
) -> None:
    """Solve a word problem with PAL: the model writes Python, a sandbox runs it."""
    console = Console()
    console.print(Panel(
        "PAL (program-aided language model): the model reads 8 worked examples, writes a Python "
        "function solution() for the question, and promptlab runs it in a RestrictedPython sandbox "
        "in a separate, resource-limited process. The function's return value is the answer.",
        title="promptlab demo",
    ))
    console.print(f"[bold]Question:[/bold] {question}\n")
    with friendly_errors():
        started = time.perf_counter()
        with open_backend(backend, backend_option) as engine:
            console.print(f"[dim]backend {engine.name} ready in {time.perf_counter() - started:.1f} s[/dim]")
            runner = PALRunner(engine, max_new_tokens=max_new_tokens)
            prompt_tokens = engine.count_tokens(runner.prompt(question))
            with console.status(f"generating a program ({prompt_tokens} prompt tokens)"):
                result = runner.run(question)
    for step in result.trace.steps:
        _show_step(console, step)
    colour = "green" if result.ok else "red"
    console.print(f"[bold {colour}]Answer: {result.answer}[/bold {colour}]  (status: {result.status}, "
                  f"{result.trace.completion_tokens} tokens generated, "
                  f"{time.perf_counter() - started:.1f} s in all)")
    if not result.ok:
        raise typer.Exit(1)


def _show_step(console: Console, step: Step) -> None:
    if step.kind != "execute":
        return
    code = (step.action or {}).get("code")
    if code:
        program = Syntax(code, "python", theme="ansi_dark", word_wrap=True)
        console.print(Panel(program, title="generated program", expand=False))
    sandbox = step.data.get("sandbox") or {}
    timing = f" in {sandbox['duration_s'] * 1000:.1f} ms" if sandbox else ""
    console.print(f"[bold]sandbox:[/bold] {step.data.get('status')}{timing} -> {step.observation}\n")
