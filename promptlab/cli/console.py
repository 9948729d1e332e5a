"""How the CLI talks to a person: one-line errors (usage errors too), logging, the version, quiet progress bars."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer >= 0.24 vendors click here
from typer.core import TyperGroup
from typer.exceptions import TyperException

__all__ = ["QUIET_PROGRESS", "OneLineErrors", "configure_output", "version_callback"]

QUIET_PROGRESS = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
"""Environment that turns off tqdm, huggingface_hub and transformers progress bars (read when they start)."""


class OneLineErrors(TyperGroup):
    """The command group: a usage error (unknown option, bad value) is one ``error:`` line and exit code 2."""

    def main(
        self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
        standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any,
    ) -> Any:
        options: dict[str, Any] = {"complete_var": complete_var, "windows_expand_args": windows_expand_args, **extra}
        if not standalone_mode:
            return super().main(args, prog_name, standalone_mode=False, **options)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **options)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except UsageError as exc:
            hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            typer.echo(f"error: {' '.join(exc.format_message().split())}{hint}", err=True)
            sys.exit(2)
        except TyperException as exc:
            typer.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("error: interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


class _Lines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def configure_output(*, verbose: bool, quiet: bool) -> None:
    """Send the ``promptlab`` logger to stderr (warnings; info with ``verbose``; errors only with ``quiet``).

    When stderr is not a terminal (a log file, CI), third-party progress bars are turned off.
    """
    if verbose and quiet:
        raise UsageError("--verbose and --quiet contradict each other; give one")
    logger = logging.getLogger("promptlab")
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Lines())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING)
    logger.propagate = False
    if not sys.stderr.isatty():
        for name, value in QUIET_PROGRESS.items():
            os.environ.setdefault(name, value)


def version_callback(value: bool | None) -> None:
    """``--version``: print promptlab's version and exit."""
    if value:
        try:
            found = version("promptlab")
        except PackageNotFoundError:  # run from a checkout that was never installed
            found = "unknown (not installed)"
        typer.echo(f"promptlab {found}")
        raise typer.Exit()
