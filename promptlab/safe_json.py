"""JSON from untrusted sources (servers, model files, user files), parsed within bounds.

``json.loads`` on hostile input can recurse until ``RecursionError``, convert a
100,000-digit integer (quadratic time; Python refuses past 4,300 digits with a bare
``ValueError``) or build NaN. :func:`loads` parses with a cap on nesting depth and on
the characters of every number, and turns every failure into one
:class:`JsonLimitError` whose message says what was wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from promptlab.errors import PromptlabError

__all__ = ["DEFAULT_JSON_LIMITS", "JsonLimitError", "JsonLimits", "loads"]


class JsonLimitError(PromptlabError, ValueError):
    """The text is not JSON, or is JSON beyond the allowed depth or number size."""


@dataclass(frozen=True)
class JsonLimits:
    """Bounds on untrusted JSON."""

    max_depth: int = 64
    """Nesting of arrays and objects."""
    max_number_chars: int = 100
    """Characters of one number literal (a 64-bit integer has at most 20)."""


DEFAULT_JSON_LIMITS = JsonLimits()


def loads(text: str | bytes, limits: JsonLimits = DEFAULT_JSON_LIMITS) -> Any:
    """Parse ``text`` as JSON within ``limits``; raise :class:`JsonLimitError` otherwise."""

    def number(kind: type[int] | type[float]) -> Any:
        def parse(literal: str) -> int | float:
            if len(literal) > limits.max_number_chars:
                raise JsonLimitError(f"a number has {len(literal):,} characters; the limit is "
                                     f"{limits.max_number_chars} (JsonLimits.max_number_chars)")
            return kind(literal)
        return parse

    try:
        value = json.loads(text, parse_int=number(int), parse_float=number(float))
    except JsonLimitError:
        raise
    except RecursionError:
        raise JsonLimitError(f"the JSON is nested deeper than {limits.max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise JsonLimitError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise JsonLimitError(f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    except ValueError as exc:
        raise JsonLimitError(f"not valid JSON: {exc}") from None
    depth = _depth(value, limits.max_depth)
    if depth > limits.max_depth:
        raise JsonLimitError(f"the JSON is nested deeper than {limits.max_depth} levels (JsonLimits.max_depth)")
    return value


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed value, walked without recursion; stops once past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest
