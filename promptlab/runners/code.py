"""Finding the program in a completion: fenced Markdown blocks or bare code."""

from __future__ import annotations

import ast
import re
import textwrap

__all__ = ["defines", "extract_code"]

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)
_CODE_START = re.compile(r"^(?:def|async\s+def|class|import|from\s+[\w.]+\s+import)\b|^@", re.MULTILINE)
_PYTHON_LABELS = ("python", "py", "python3", "")


def extract_code(text: str, entry: str = "solution") -> str | None:
    """The Python program in a completion, or None when it holds no code.

    Fenced blocks win (one labelled ``python`` and defining ``entry`` first, as PAL's chat
    variant reads them; an unclosed last fence counts, since a stop or the token limit may
    cut it). Otherwise the code starts at the first top-level ``def``/``import``/``class``
    line, and trailing prose that does not parse is dropped.
    """
    blocks = [(label.lower(), textwrap.dedent(body).strip("\n")) for label, body in _FENCE.findall(text)]
    if blocks:
        return _best_block(blocks, entry)
    start = _CODE_START.search(text)
    return _without_trailing_prose(text[start.start():], entry) if start else None


def defines(code: str, name: str) -> bool:
    """Whether the code has a top-level ``def name(``."""
    return re.search(rf"^(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None


def _best_block(blocks: list[tuple[str, str]], entry: str) -> str | None:
    python = [body for label, body in blocks if label in _PYTHON_LABELS and body.strip()]
    candidates = python or [body for _, body in blocks if body.strip()]
    if not candidates:
        return None
    return next((body for body in candidates if defines(body, entry)), candidates[0])


def _without_trailing_prose(code: str, entry: str) -> str:
    """Drop trailing top-level chunks until the code parses (keeping ``entry``'s definition)."""
    chunks: list[list[str]] = []
    for line in code.rstrip().splitlines():
        if chunks and (not line.strip() or line[0].isspace() or line.lstrip().startswith("#")):
            chunks[-1].append(line)
        else:
            chunks.append([line])
    texts = ["\n".join(chunk) for chunk in chunks]
    joined = ["\n".join(texts[:end]) for end in range(len(texts), 0, -1)]
    needed = [c for c in joined if defines(c, entry)] or joined
    return next((c.rstrip() for c in needed if _parses(c)), code.rstrip())


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True
