"""Whether a text is accepted by a constraint, asked of llguidance's matcher directly (byte by byte)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import llguidance

from promptlab.constraints import Grammar, JsonSchema, Regex


class _Bytes:
    """A tokenizer whose tokens are the 256 bytes (and an end token): acceptance without a model's vocabulary."""

    eos_token_id = 256
    bos_token_id = None
    tokens: ClassVar[list[bytes]] = [bytes([value]) for value in range(256)] + [b"<eos>"]
    special_token_ids: ClassVar[list[int]] = [256]

    def __call__(self, text: str | bytes) -> list[int]:
        return list(text if isinstance(text, bytes) else text.encode())


BYTES = llguidance.LLTokenizer(llguidance.TokenizerWrapper(_Bytes()))


def llguidance_grammar(constraint: Regex | Grammar | JsonSchema) -> str:
    if isinstance(constraint, Regex):
        return llguidance.LLMatcher.grammar_from_regex(constraint.pattern)
    if isinstance(constraint, Grammar):
        return llguidance.LLMatcher.grammar_from_lark(constraint.lark)
    return llguidance.LLMatcher.grammar_from_json_schema(constraint.json_schema)


class Acceptor:
    """One compiled matcher, reset for each text (compiling per text costs far more than matching).

    A refused text leaves the matcher in its error state for good, so the next text gets a fresh copy.
    """

    def __init__(self, constraint: Regex | Grammar | JsonSchema) -> None:
        self.compiled = llguidance.LLMatcher(BYTES, llguidance_grammar(constraint), log_level=0)
        assert not self.compiled.is_error(), self.compiled.get_error()
        self.matcher = self.compiled.deep_copy()

    def accepts(self, text: str) -> bool:
        if self.matcher.is_error():
            self.matcher = self.compiled.deep_copy()
        self.matcher.reset()
        return self.matcher.consume_tokens(list(text.encode())) and self.matcher.is_accepting()

    def rejected(self, texts: Iterable[str]) -> list[str]:
        return [text for text in texts if not self.accepts(text)]
