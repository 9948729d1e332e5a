"""``promptlab generate``: complete a prompt on any backend."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from promptlab.backends import Backend
from promptlab.cli.common import (
    BackendOptionOpt,
    StreamOpt,
    friendly_errors,
    open_backend,
    print_json,
    streaming_wanted,
    text_argument,
    unescape,
)
from promptlab.cli.constraint_options import constraint_from_options
from promptlab.config import GenerationConfig

__all__ = ["generate"]

__all__ = ["generate"]


def generate(
    prompt: Annotated[str, typer.Argument(help="The prompt text; - reads it from standard input.")],
    backend: Annotated[str, typer.Option(help="Backend spec, e.g. llamacpp, mock:FILE, openai:URL.")] = "llamacpp",
    backend_option: BackendOptionOpt = None,
    max_new_tokens: Annotated[int, typer.Option(help="Most tokens to generate.")] = 128,
    stop: Annotated[list[str] | None, typer.Option(
        help="A stop string; repeat for several. \\n, \\t, \\r and \\\\ are newline, tab, return, backslash.")]
    = None,
    temperature: Annotated[float, typer.Option(help="0 is greedy.")] = 0.0,
    top_k: Annotated[int | None, typer.Option(help="Top-k sampling.")] = None,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 1.0,
    min_p: Annotated[float, typer.Option(help="Drop tokens below min_p x the top token's probability.")] = 0.0,
    repetition_penalty: Annotated[float, typer.Option(help="1.0 means none.")] = 1.0,
    num_beams: Annotated[int, typer.Option(help="Beam search width.")] = 1,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    n: Annotated[int, typer.Option(help="Completions to return.")] = 1,
    chat: Annotated[bool, typer.Option(help="Send the prompt as a user message with the model's chat template.")]
    = False,
    stream: StreamOpt = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list of completions.")] = False,
    regex: Annotated[str | None, typer.Option(help="Constrain the output to this regular expression.")] = None,
    choice: Annotated[str | None, typer.Option(help="Constrain the output to one of these comma-separated strings.")]
    = None,
    json_schema: Annotated[Path | None, typer.Option(help="Constrain the output to this JSON schema (a file).")]
    = None,
    grammar: Annotated[Path | None, typer.Option(help="Constrain the output to this Lark grammar (.gbnf: GBNF).")]
    = None,
) -> None:
    """Generate completions of PROMPT and print them (optionally constrained: at most one constraint)."""
    with friendly_errors():
        text = text_argument(prompt, "prompt")
        config = GenerationConfig(
            max_new_tokens=max_new_tokens, stop=tuple(unescape(s) for s in stop or ()), temperature=temperature,
            top_k=top_k, top_p=top_p, min_p=min_p, repetition_penalty=repetition_penalty, num_beams=num_beams,
            seed=seed, n=n, constraint=constraint_from_options(regex, choice, json_schema, grammar),
        )
        with open_backend(backend, backend_option) as engine:
            if streaming_wanted(stream) and not json_output and n == 1 and num_beams == 1 \
                    and engine.capabilities.streaming:
                _stream(engine, text, config, chat)
                return
            if chat:
                completions = engine.chat([{"role": "user", "content": text}], config)
            else:
                completions = engine.generate(text, config)
    if json_output:
        print_json(completions)
        return
    for index, completion in enumerate(completions):
        if len(completions) > 1:
            typer.echo(f"--- completion {index + 1} ({completion.finish_reason})")
        typer.echo(completion.text)


def _stream(engine: Backend, prompt: str, config: GenerationConfig, chat: bool) -> None:
    """Print the completion chunk by chunk as the engine produces it."""
    chunks = engine.stream_chat([{"role": "user", "content": prompt}], config) if chat \
        else engine.stream(prompt, config)
    for chunk in chunks:
        sys.stdout.write(chunk)
        sys.stdout.flush()
    sys.stdout.write("\n")
