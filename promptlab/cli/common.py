"""Helpers shared by the CLI commands: error reporting, option parsing, loading a backend."""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console

from promptlab.backends import Backend, load_backend
from promptlab.backends.options import with_options
from promptlab.errors import PromptlabError

__all__ = [
    "BackendOptionOpt",
    "Command",
    "StreamOpt",
    "fail",
    "friendly_errors",
    "json_text",
    "log",
    "open_backend",
    "parse_vars",
    "print_json",
    "streaming_wanted",
    "text_argument",
    "unescape",
]

log = logging.getLogger("promptlab")
"""The one logger of promptlab (``--verbose`` / ``--quiet`` set its level)."""

STDIN_LIMIT = 1 << 20
"""Most bytes ``-`` reads from standard input."""

BackendOptionOpt = Annotated[list[str] | None, typer.Option(
    "--backend-option", metavar="KEY=VALUE",
    help="A backend constructor option, e.g. n_ctx=8192 or dialect=vllm; repeatable (see docs/backends.md).")]
StreamOpt = Annotated[bool, typer.Option(help="Print text as it is generated (only when stdout is a terminal).")]


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


def open_backend(spec: str, options: list[str] | None) -> Backend:
    """Load the backend ``spec`` names, with ``--backend-option`` pairs; a spinner on a terminal meanwhile."""
    full = with_options(spec, options or [])
    spinner = Console(stderr=True).status(f"loading backend {spec}") if sys.stderr.isatty() else nullcontext()
    with spinner:
        backend = load_backend(full)
    log.info("backend %s ready", backend.name)
    return backend


def text_argument(value: str, what: str) -> str:
    """The argument itself, or standard input when it is ``-`` (at most :data:`STDIN_LIMIT` bytes)."""
    if value != "-":
        return value
    data = sys.stdin.buffer.read(STDIN_LIMIT + 1)
    if len(data) > STDIN_LIMIT:
        fail(f"the {what} on standard input is longer than {STDIN_LIMIT} bytes")
    text = data.decode("utf-8", errors="replace").strip()
    if not text:
        fail(f"the {what} on standard input is empty")
    return text


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


def unescape(text: str) -> str:
    """``\\n``, ``\\t``, ``\\r`` and ``\\\\`` as typed in a shell -> newline, tab, return, backslash.

    Any other backslash stays as it is, so Windows paths and regexes survive.
    """
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in ESCAPES:
            out.append(ESCAPES[text[index + 1]])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def streaming_wanted(stream: bool) -> bool:
    """Stream only to a person: ``--stream`` (the default) and stdout is a terminal."""
    return stream and sys.stdout.isatty()


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
    """Print pydantic models, lists of them, or plain data as JSON (see :func:`json_text`)."""
    sys.stdout.write(json_text(value, indent=2) + "\n")


def json_text(value: Any, indent: int | None = None) -> str:
    """Strict JSON for people and programs: NaN and infinities become the strings ``"NaN"``,
    ``"Infinity"`` and ``"-Infinity"`` (bare ``NaN`` is not JSON); pydantic models are dumped."""
    def plain(v: Any) -> Any:
        if isinstance(v, BaseModel):
            return plain(v.model_dump())
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, float) and not math.isfinite(v):
            return "NaN" if math.isnan(v) else "Infinity" if v > 0 else "-Infinity"
        return v
    return json.dumps(plain(value), ensure_ascii=False, indent=indent, allow_nan=False, default=str)


Command = Callable[..., Any]
