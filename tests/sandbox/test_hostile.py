"""The hostile corpus (tests/sandbox/hostile/*.py): no program escapes, exhausts the host or breaks the next run.

Each file starts with ``# expect: STATUS[|STATUS]``; run one by hand with ``promptlab sandbox FILE``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from promptlab.sandbox import Sandbox

from .conftest import BENIGN

CORPUS = sorted((Path(__file__).parent / "hostile").glob("*.py"))
TIMEOUT = 0.5
MEMORY_MB = 64


def expected_statuses(path: Path) -> set[str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: STATUS'"
    return set(first.removeprefix("# expect: ").split("|"))


def test_the_corpus_covers_every_kind_of_attack() -> None:
    kinds = {status for path in CORPUS for status in expected_statuses(path)}
    assert {"forbidden", "timeout", "memory", "error"} <= kinds
    assert len(CORPUS) >= 50


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_hostile_program_is_contained(sandbox: Sandbox, path: Path) -> None:
    started = time.monotonic()
    result = sandbox.run(path.read_text(encoding="utf-8"), timeout=TIMEOUT, memory_mb=MEMORY_MB)
    elapsed = time.monotonic() - started
    assert result.status in expected_statuses(path), result
    assert result.value is None and result.error
    assert elapsed < TIMEOUT + 3.0, f"{path.name} was not stopped in time ({elapsed:.1f} s)"
    assert sandbox.run(BENIGN).value == 42, "the run after a hostile one must work"
