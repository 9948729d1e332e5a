import json
from pathlib import Path

from typer.testing import CliRunner

from promptlab.cli.app import app

runner = CliRunner()


def test_generate_prints_completions_as_json(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["Paris. It is big"]))
    result = runner.invoke(app, ["generate", "capital?", "--backend", f"mock:{script}", "--stop", ".", "--json"])
    assert result.exit_code == 0, result.output
    [completion] = json.loads(result.stdout)
    assert completion["text"] == "Paris"
    assert completion["finish_reason"] == "stop"
    assert completion["stop"] == "."
    assert completion["usage"]["completion_tokens"] == 2


def test_generate_plain_text(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["one two three"]))
    result = runner.invoke(app, ["generate", "q", "--backend", f"mock:{script}", "--max-new-tokens", "2"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "one two"


def test_bad_input_is_one_clear_line() -> None:
    result = runner.invoke(app, ["generate", "q", "--backend", "nonsense"])
    assert result.exit_code == 2
    assert "unknown backend spec 'nonsense'" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["generate", "q", "--backend", "mock", "--temperature", "-1"])
    assert result.exit_code == 2
    assert "temperature" in result.output


def test_an_unwritable_path_is_one_clear_line(tmp_path: Path) -> None:
    script = tmp_path / "pal.json"
    script.write_text(json.dumps(["def solution():\n    return 1\n"]))
    trace = tmp_path / "missing-dir" / "trace.jsonl"
    result = runner.invoke(app, ["run", "pal", "q?", "--backend", f"mock:{script}", "--trace", str(trace)])
    assert result.exit_code == 2
    assert f"error: {trace}: No such file or directory" in result.output
    assert "Traceback" not in result.output
