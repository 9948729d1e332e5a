"""Per-sequence token masks: the next mask is computed once, in the background, after each token."""

from __future__ import annotations

import pytest

from promptlab.backends.guidance import SequenceMask, TokenMasks
from promptlab.constraints import Regex
from tests.runners.grammar_matching import BYTES


def allowed(mask: SequenceMask) -> set[bytes]:
    return {bytes([token]) for token in range(256) if not mask.blocked()[token]}


def test_a_mask_follows_the_tokens_fed_and_is_computed_once_per_token(monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[int] = []
    compute = SequenceMask._compute

    def counting(self: SequenceMask) -> None:
        computed.append(1)
        compute(self)

    monkeypatch.setattr(SequenceMask, "_compute", counting)
    mask = TokenMasks(lambda: BYTES).sequence(Regex(pattern="ab+c"))
    assert allowed(mask) == {b"a"} and len(computed) == 1
    for token, expected in ((b"a", {b"b"}), (b"b", {b"b", b"c"})):
        mask.advance(token[0])
        assert not mask.done  # read by the engines between tokens: no second computation
        assert allowed(mask) == expected
    assert len(computed) == 3
    twin = mask.fork()
    mask.advance(ord("c"))
    assert mask.done and allowed(twin) == {b"b", b"c"}


def test_a_token_outside_the_mask_is_a_backend_error() -> None:
    from promptlab.errors import BackendError

    mask = TokenMasks(lambda: BYTES).sequence(Regex(pattern="ab"))
    with pytest.raises(BackendError, match="constrained decoding failed"):
        mask.advance(ord("z"))
