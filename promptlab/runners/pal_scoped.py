"""Scoped PAL programs: written one line at a time, each line able to read only the names already defined.

A small model's PAL programs fail most often on a name it never defined (on MAWPS single-op,
132 of the embedded model's 140 failed programs: ``x = x + 8``, ``total = a + b_before``). A
grammar of the whole program cannot know which names exist (:mod:`~promptlab.runners.pal_grammar`),
but a grammar per line can: after the header, every line is generated under a grammar whose
names on the right-hand side are the ones assigned so far, and the program ends with
``return`` of one of them. The lines are the straight-line subset PAL's GSM8K exemplars use:
``name = expression`` over numbers and defined names, then ``return name``.

Each call ends where the model breaks the line, and the next call starts with that newline:
a model writes a line break and the next indentation as one token ("\n    "), so a prompt
cut right after the newline reads to it like broken code (on the embedded model such lines
turned into comments and invented names). The line's grammar therefore starts with
``"\n    "`` and ends at a newline that may carry the next line's indentation, which is cut
off before the next call.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Generator, Sequence
from typing import Any

from promptlab.backends.base import Completion, FinishReason, Usage
from promptlab.config import GenerationConfig
from promptlab.constraints import Grammar
from promptlab.runners.flow import Effect, Generate
from promptlab.runners.pal_grammar import check_entry

__all__ = ["MAX_LINES", "header_grammar", "line_grammar", "scoped_program"]

MAX_LINES = 16
"""Assignments before the program must return (PAL's exemplars use 4-7)."""

_LINE_END = re.compile(r"\n {0,8}\Z")
_ASSIGNED = re.compile(r"^\n +([A-Za-z_][A-Za-z0-9_]*) = ")
_LINE_TOKENS = 64
"""New tokens allowed for one line (the longest exemplar line is about 30)."""
_HEADER_TOKENS = 512
"""New tokens allowed for the header: its docstring restates the question (at most 600 characters)."""


def header_grammar(entry: str = "solution") -> Grammar:
    """``def <entry>():`` and a one-line docstring, as the exemplars start (the model restates the question)."""
    check_entry(entry)
    return Grammar(lark=f'start: "def {entry}():\\n    \\"\\"\\"" /[^"\\n]{{0,600}}/ "\\"\\"\\"" /\\n {{0,8}}/')


def line_grammar(defined: Sequence[str], *, must_return: bool = False) -> Grammar:
    """One body line: an assignment reading only ``defined`` names, or ``return`` of one of them."""
    names = sorted(set(defined), key=lambda name: (-len(name), name))
    reference = " | ".join(f'"{name}"' for name in names)
    term = f"{reference} | NUMBER | \"(\" expr \")\"" if names else 'NUMBER | "(" expr ")"'
    returns = f'"return " ({reference}) END' if names else None
    assign = 'NAME " = " expr END'
    body = returns if must_return and returns else " | ".join(x for x in (assign, returns) if x)
    return Grammar(lark="\n".join([
        f'start: "\\n    " ({body})',
        'expr: term (OP term)*',
        f"term: {term}",
        'OP: / *(\\+|-|\\*|\\/\\/|\\/|%) */',
        f"NAME: /[A-Za-z_][A-Za-z0-9_]{{0,40}}/ & ~/({'|'.join(keyword.kwlist)})/",
        "NUMBER: /[0-9]{1,12}(\\.[0-9]{1,6})?/",
        "END: /\\n {0,8}/",  # the newline, and the next line's indentation when the model writes them as one token
    ]))


def scoped_program(prompt: str, config: GenerationConfig, entry: str = "solution", max_lines: int = MAX_LINES
                   ) -> Generator[Effect, Any, Completion]:
    """Generate one program line by line (each a model call under :func:`line_grammar`); one Completion back.

    Its text is the whole program; its usage sums the calls'. ``config`` gives the decoding knobs
    (temperature, seed: line i uses seed + i); its stop sequences, constraint and ``max_new_tokens``
    are replaced per line. The finish reason is ``"length"`` when a line ran out of tokens (the
    program is then executed as it stands, and fails), else ``"eos"``.
    """
    config = config.with_overrides(n=1, stop=(), constraint=None)
    text, defined, lines = "", list[str](), set[str]()
    finish: FinishReason = "eos"
    prompt_tokens = completion_tokens = cached = 0
    for index in range(max_lines + 2):
        grammar = header_grammar(entry) if index == 0 else line_grammar(defined, must_return=index > max_lines)
        line_config = config.with_overrides(
            constraint=grammar, max_new_tokens=_LINE_TOKENS if index else _HEADER_TOKENS,
            seed=None if config.seed is None else config.seed + index)
        completion: Completion = (yield Generate(prompt + text, line_config))[0]
        prompt_tokens += completion.usage.prompt_tokens
        completion_tokens += completion.usage.completion_tokens
        cached += completion.usage.cached_prompt_tokens
        ended = _LINE_END.search(completion.text)
        if completion.finish_reason == "length" or ended is None:
            text += completion.text
            finish = "length"
            break  # a line the budget cut short: the program is executed as it stands, and fails there
        line = completion.text[:ended.start()]  # the next line starts with its own newline, as the model writes it
        text += line
        if line.lstrip().startswith("return "):
            break
        assigned = _ASSIGNED.match(line)
        if assigned is not None and index > 0:
            repeated = line in lines
            lines.add(line)
            defined.append(assigned.group(1))
            if repeated:  # a model repeating itself would go on to the line limit: it returns next
                max_lines = index
    usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cached_prompt_tokens=cached)
    return Completion(text=text, finish_reason=finish, usage=usage)
