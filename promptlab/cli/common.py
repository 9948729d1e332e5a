"""Helpers shared by the CLI commands: error reporting and option parsing."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from pydantic import BaseModel

from promptlab.errors import PromptlabError

__all__ = ["Command", "fail", "friendly_errors", "parse_vars", "print_json"]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error for a person (no traceback) and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn promptlab's own errors into one clear line on stderr and exit code 2."""
    try:
        yield
    except PromptlabError as exc:
        fail(str(exc))
    except OSError as exc:  # an unwritable --trace or --out path, a missing input file
        fail(f"{exc.filename or 'file'}: {exc.strerror or exc}")


def parse_vars(pairs: list[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}``; a pair without ``=`` is an error."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--var {pair!r} must look like key=value")
        result[key.strip()] = value
    return result


def print_json(value: Any) -> None:
    """Print pydantic models, lists of them, or plain data as JSON."""
    def plain(v: Any) -> Any:
        if isinstance(v, BaseModel):
            return v.model_dump(mode="json")
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    sys.stdout.write(json.dumps(plain(value), ensure_ascii=False, indent=2) + "\n")


Command = Callable[..., Any]
