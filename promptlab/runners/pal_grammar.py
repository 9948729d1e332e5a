"""The shape of a PAL program as a grammar: ``def solution():`` and a body in the Python subset PAL uses.

PAL programs (Gao et al., 2022) are straight-line arithmetic in one function: assignments,
arithmetic, a few calls (``sum``, ``round``, ``min``...), now and then an ``if``, a loop or
a helper ``def``, and ``return result`` as the last line. :func:`program_grammar` writes
that subset in Lark (as llguidance reads it) so a constrained model cannot break the
format: no prose between lines, no inconsistent indentation, no unclosed bracket or
string, and the function always ends with ``return``. It cannot know which names are
defined, so a constrained program may still raise ``NameError``.

Whitespace is explicit (no ``%ignore``): an indentation is one lexeme, so a line indented
one space too far is refused rather than failing to compile. Nested blocks are written
out per level for each indentation unit (4, 2 or 3 spaces), which keeps every body's
indentation consistent. Inside brackets an expression may span lines, as in Python.
"""

from __future__ import annotations

import keyword

from promptlab.constraints import Grammar
from promptlab.errors import ConfigError

__all__ = ["INDENT_UNITS", "MAX_DEPTH", "check_entry", "program_grammar"]

INDENT_UNITS = (4, 2, 3)
"""Body indentation widths accepted (PEP 8's 4 first); one program keeps one width throughout."""
MAX_DEPTH = 3
"""Indentation levels inside the function: its body, and two nested blocks (a loop holding an ``if``)."""

_EXPRESSIONS = r"""
exprs<S>: expr<S> (_COMMA<T> expr<S>)* _COMMA<T>?
expr<S>: disjunction<S> (_IF<T> disjunction<S> _ELSE<T> expr<S>)?
disjunction<S>: conjunction<S> (_OR<T> conjunction<S>)*
conjunction<S>: inversion<S> (_AND<T> inversion<S>)*
inversion<S>: _NOT<T> inversion<S> | comparison<S>
comparison<S>: arith<S> (_CMP<T> arith<S>)*
arith<S>: term<S> (_ADD<T> term<S>)*
term<S>: factor<S> (_MUL<T> factor<S>)*
factor<S>: _UNARY<T> factor<S> | power<S>
power<S>: primary<S> (_POW<T> factor<S>)?
primary<S>: atom trailer*
_COMMA<T>: /<W>,<W>/
_ADD<T>: /<W>[+-]<W>/
_MUL<T>: /<W>(\*|\/\/|\/|%)<W>/
_POW<T>: /<W>\*\*<W>/
_UNARY<T>: /[+-]<W>/
_CMP<T>: /<W>(==|!=|<=|>=|<|>)<W>|<R>(in|not<R>in|is|is<R>not)<R>/
_AND<T>: /<R>and<R>/
_OR<T>: /<R>or<R>/
_NOT<T>: /not<R>/
_IF<T>: /<R>if<R>/
_ELSE<T>: /<R>else<R>/
"""
"""Expression rules, written once for two contexts: ``<S>``/``<T>`` suffix rule/terminal names, ``<W>`` is optional
whitespace and ``<R>`` required whitespace. On a line (suffix ``""``) whitespace is spaces; inside
brackets (suffix ``_b``) it may also span lines, as Python's implicit line joining allows."""
_CONTEXTS = (("", "", " *", " +"), ("_b", "_B", r"\s*", r"\s+"))

_COMMON = r"""
atom: NAME | NUMBER | STRING | _LPAR [exprs_b] _RPAR | _LPAR expr_b comp_for _RPAR
    | _LSQB [exprs_b] _RSQB | _LSQB expr_b comp_for _RSQB | _LBRACE [pairs] _RBRACE
trailer: _LPAR [arguments] _RPAR | _LSQB subscript _RSQB | "." NAME
subscript: expr_b | [expr_b] _SLICE [expr_b]
arguments: argument (_COMMA_B argument)* _COMMA_B?
argument: expr_b [comp_for] | NAME _KWEQ expr_b
pairs: pair (_COMMA_B pair)* _COMMA_B?
pair: expr_b _SLICE expr_b
comp_for: _FOR targets _IN disjunction_b (_IF_B disjunction_b)*
targets: target (_COMMA target)* _COMMA?
target: NAME (_LSQB subscript _RSQB | "." NAME)*
params: NAME (_COMMA_B NAME)* _COMMA_B?

simple: (targets _ASSIGN)+ exprs
      | target _AUGASSIGN exprs
      | exprs
      | "return" | "return " exprs
      | "pass" | "break" | "continue"

NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /([0-9][0-9_]*(\.[0-9_]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?/
STRING: /"([^"\\\n]|\\.)*"|'([^'\\\n]|\\.)*'|"{3}([^"\\]|\\.|"[^"\\]|""[^"\\])*"{3}/
COMMENT: /#[^\n]*/
TRAIL: /[ \t]+|[ \t]*#[^\n]*/
IMPORT: /(import [A-Za-z_][A-Za-z0-9_.]*|from [A-Za-z_][A-Za-z0-9_.]* import [A-Za-z_][A-Za-z0-9_, ]*)\n/
_COLON: / *:([ \t]*#[^\n]*|[ \t]*)/
_LPAR: /\(\s*/
_RPAR: /\s*\)/
_LSQB: /\[\s*/
_RSQB: /\s*\]/
_LBRACE: /\{\s*/
_RBRACE: /\s*\}/
_SLICE: /\s*:\s*/
_ASSIGN: / *= */
_KWEQ: /\s*=\s*/
_AUGASSIGN: / *(\+|-|\*|\/|\/\/|%|\*\*)= */
_FOR: /\s+for\s+/
_IN: / +in +/
END: /\n{1,3}/
"""


def check_entry(entry: str) -> None:
    """Raise :class:`ConfigError` unless ``entry`` can name the program's function (it goes into grammars)."""
    if not entry.isidentifier() or keyword.iskeyword(entry):
        raise ConfigError(f"the function to call must be a Python identifier, got {entry!r}")


def program_grammar(entry: str = "solution", *, fenced: bool = False) -> Grammar:
    """The grammar of a PAL completion: optional imports, ``def <entry>():``, a body ending in ``return``.

    The completion may end with up to three newlines (PAL's stop is ``"\\n\\n\\n"``).
    ``fenced``: the program sits in a Markdown code block, as PAL's chat prompt asks.
    """
    check_entry(entry)
    bodies = " | ".join(f"body{unit}" for unit in INDENT_UNITS)
    start = 'start: /```(python|py)?\\n/ program "\\n```"' if fenced else "start: program END?"
    rules = [start, f'program: IMPORT* "def {entry}():" TRAIL? ({bodies})']
    for unit in INDENT_UNITS:
        rules += _body_rules(unit)
    for rule, terminal, optional, required in _CONTEXTS:
        rules.append(_EXPRESSIONS.replace("<S>", rule).replace("<T>", terminal)
                     .replace("<W>", optional).replace("<R>", required))
    return Grammar(lark="\n".join([*rules, _COMMON]))


def _body_rules(unit: int) -> list[str]:
    """Rules for bodies indented by ``unit`` spaces: the function body ends with ``return``."""
    rules = [f'body{unit}: (_NL{unit}_1 line{unit}_1)* _NL{unit}_1 "return " exprs TRAIL?']
    for level in range(1, MAX_DEPTH + 1):
        name, newline = f"{unit}_{level}", f"_NL{unit}_{level}"
        rules.append(f"{newline}: /(\\n[ \\t]*)?\\n {{{unit * level}}}/")
        if level == MAX_DEPTH:
            rules.append(f"line{name}: simple TRAIL? | COMMENT")
            continue
        inner = f"block{unit}_{level + 1}"
        rules += [
            f"line{name}: simple TRAIL? | COMMENT | compound{name}",
            f"{inner}: (_NL{unit}_{level + 1} line{unit}_{level + 1})+",
            f'compound{name}: "if " expr _COLON {inner} ({newline} "elif " expr _COLON {inner})*'
            f' ({newline} "else" _COLON {inner})?'
            f' | "while " expr _COLON {inner}'
            f' | "for " targets _IN exprs _COLON {inner}'
            f' | "def " NAME _LPAR [params] _RPAR _COLON {inner}',
        ]
    return rules
