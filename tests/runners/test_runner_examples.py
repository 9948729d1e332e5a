"""The runnable examples (examples/pal_math.py, examples/cot_self_consistency.py) on their mock scripts."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize(("script", "args", "expected"), [
    ("pal_math.py", ["--backend", f"mock:{EXAMPLES / 'data' / 'pal_mock.json'}", "--n", "3"],
     ["--> sandbox_error: NameError", "Answer: 18  (status: ok)", "Votes: {'18': 2}"]),
    ("cot_self_consistency.py", ["--backend", f"mock:{EXAMPLES / 'data' / 'cot_mock.json'}", "--n", "5"],
     ["--- sample 2 -> 1", "Answer: 3  (status: ok)", "agreement: 0.60"]),
])
def test_example_runs_on_its_mock_script(script: str, args: list[str], expected: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    main = runpy.run_path(str(EXAMPLES / script))["main"]
    assert main(args) == 0
    output = capsys.readouterr().out
    for line in expected:
        assert line in output
