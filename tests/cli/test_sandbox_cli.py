import json
from pathlib import Path

from typer.testing import CliRunner

from promptlab.cli.app import app

runner = CliRunner()
HOSTILE = Path(__file__).parents[1] / "sandbox" / "hostile"


def test_prints_output_then_the_value(tmp_path: Path) -> None:
    program = tmp_path / "p.py"
    program.write_text("def solution():\n    print('working')\n    return {'answer': [1, 2.5]}\n")
    result = runner.invoke(app, ["sandbox", str(program)])
    assert result.exit_code == 0, result.output
    assert result.stdout == 'working\n{"answer": [1, 2.5]}\n'


def test_json_output_is_the_whole_result(tmp_path: Path) -> None:
    program = tmp_path / "p.py"
    program.write_text("def main():\n    return 8\n")
    result = runner.invoke(app, ["sandbox", str(program), "--call", "main", "--json", "--timeout", "2"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "ok" and payload["value"] == 8 and payload["duration_s"] > 0


def test_a_failed_run_exits_1_with_the_reason_on_stderr() -> None:
    result = runner.invoke(app, ["sandbox", str(HOSTILE / "import_os.py")])
    assert result.exit_code == 1
    assert result.stderr.startswith("forbidden: import of 'os' is not allowed")


def test_limits_reach_the_run() -> None:
    result = runner.invoke(app, ["sandbox", str(HOSTILE / "endless_loop.py"), "--timeout", "0.3", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "timeout"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["sandbox", str(tmp_path / "nope.py")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    program = tmp_path / "p.py"
    program.write_text("x = 1\n")
    bad_limit = runner.invoke(app, ["sandbox", str(program), "--memory-mb", "1"])
    assert bad_limit.exit_code == 2 and "memory_mb" in bad_limit.stderr
