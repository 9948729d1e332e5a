"""``promptlab sandbox``: run a Python file in the sandbox and print what its function returns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from promptlab.cli.common import fail, friendly_errors, json_text, print_json
from promptlab.sandbox import Sandbox

__all__ = ["sandbox"]


def sandbox(
    file: Annotated[Path, typer.Argument(help="The Python file to run.")],
    call: Annotated[str, typer.Option(help="The function to call after running the file; '' calls none.")]
    = "solution",
    timeout: Annotated[float, typer.Option(help="Wall-clock seconds the program may take.")] = 5.0,
    memory_mb: Annotated[int, typer.Option(help="Memory (MB of address space) the program may add.")] = 256,
    json_output: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")] = False,
) -> None:
    """Run FILE under the sandbox's limits; print its output, then CALL()'s value as JSON.

    Exit code 0 when the run ends "ok", 1 when it fails (error, timeout, memory, forbidden), 2 on bad usage.
    """
    try:
        code = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    with friendly_errors(), Sandbox(timeout=timeout, memory_mb=memory_mb) as box:
        result = box.run(code, call or None)
    if json_output:
        print_json(result)
    else:
        if result.stdout:
            typer.echo(result.stdout, nl=not result.stdout.endswith("\n"))
        if result.ok and call:
            typer.echo(json_text(result.value))
        elif not result.ok:
            typer.echo(f"{result.status}: {result.error}", err=True)
    if not result.ok:
        raise typer.Exit(1)
