import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptlab.cli.app import app

runner = CliRunner()


def test_demo_shows_program_sandbox_result_and_answer(tmp_path: Path) -> None:
    script = tmp_path / "pal.json"
    script.write_text(json.dumps(["def solution():\n    apples = 5\n    bought = 7\n    return apples + bought\n"]))
    result = runner.invoke(app, ["demo", "--backend", f"mock:{script}"])
    assert result.exit_code == 0, result.output
    assert "Question: Tom has 5 apples" in result.output
    assert "return apples + bought" in result.output
    assert "sandbox: ok" in result.output
    assert "Answer: 12" in result.output


def test_demo_reports_a_failed_program_with_exit_code_1(tmp_path: Path) -> None:
    script = tmp_path / "pal.json"
    # PAL's grammar admits no imports, so the failure is one the grammar cannot see: an undefined name.
    script.write_text(json.dumps(["def solution():\n    total = apples + 1\n    return total\n"]))
    result = runner.invoke(app, ["demo", "--backend", f"mock:{script}"])
    assert result.exit_code == 1
    assert "sandbox: sandbox_error" in result.output and "NameError" in result.output


@pytest.mark.slow
def test_demo_runs_pal_end_to_end_on_the_embedded_model() -> None:
    result = runner.invoke(app, ["demo", "--max-new-tokens", "120"])
    assert result.exit_code in (0, 1), result.output
    assert "def solution" in result.output
    assert "sandbox:" in result.output
    assert "Answer:" in result.output
