"""One sandbox worker for the whole area's tests (its start costs tens of milliseconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promptlab.sandbox import Sandbox

PAL_PROMPT = Path(__file__).resolve().parents[2] / "templates" / "examples" / "gsm_pal_prompt.jsonl"
BENIGN = "def solution():\n    return 6 * 7\n"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(timeout=2.0, memory_mb=128) as box:
        yield box


@pytest.fixture(scope="session")
def pal_programs() -> list[dict[str, Any]]:
    """PAL's 8 GSM8K few-shot programs with the answers they return (see templates/LICENSES.md)."""
    return [json.loads(line) for line in PAL_PROMPT.read_text().splitlines() if line.strip()]
