"""What a person meets at the terminal: version, one-line usage errors, logging, stdin, escapes, streaming."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptlab.cli import generate as generate_module
from promptlab.cli.app import app
from promptlab.cli.common import unescape
from promptlab.cli.console import QUIET_PROGRESS

cli = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def script(tmp_path: Path, *responses: str) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(list(responses)), encoding="utf-8")
    return f"mock:{path}"


def test_version() -> None:
    result = cli.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("promptlab ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "q", "--bogus"], "error: No such option: --bogus"),
        (["generate"], "error: Missing argument 'prompt'"),
        (["generate", "q", "--max-new-tokens", "lots"], "error: Invalid value for '--max-new-tokens'"),
        (["run", "cot", "q", "--n", "0"], "error: Invalid value for '--n'"),
        (["-v", "-q", "templates"], "error: --verbose and --quiet contradict each other"),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(args: list[str], message: str) -> None:
    result = cli.invoke(app, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert "--help" in lines[0]


def test_unescape() -> None:
    assert unescape(r"\n") == "\n"
    assert unescape(r"a\tb\rc") == "a\tb\rc"
    assert unescape(r"\\n") == "\\n"  # an escaped backslash, then n
    assert unescape(r"C:\path\d+") == r"C:\path\d+"  # other backslashes are kept


def test_stop_understands_escapes(tmp_path: Path) -> None:
    backend = script(tmp_path, " Paris.\nThe city")
    result = cli.invoke(app, ["generate", "The capital of France is", "--backend", backend, "--stop", r"\n", "--json"])
    assert result.exit_code == 0, result.output
    [completion] = json.loads(result.stdout)
    assert (completion["text"], completion["stop"]) == (" Paris.", "\n")


def test_a_dash_reads_the_prompt_from_stdin() -> None:
    result = cli.invoke(app, ["generate", "-", "--backend", "mock", "--backend-option", "default=ok", "--json"],
                        input="a prompt from a pipe\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["usage"]["prompt_tokens"] == 5  # "a prompt from a pipe": 5 words, not "-"
    result = cli.invoke(app, ["generate", "-", "--backend", "mock"], input="  \n")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: the prompt on standard input is empty"


def test_run_reads_the_question_from_stdin(tmp_path: Path) -> None:
    backend = script(tmp_path, " 2 + 2 = 4. The answer is 4.")
    result = cli.invoke(app, ["run", "cot", "-", "--backend", backend, "--json"], input="What is 2 + 2?")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["answer"] == "4"


def test_backend_options_reach_the_backend_and_bad_ones_are_one_line(tmp_path: Path) -> None:
    result = cli.invoke(app, ["generate", "q", "--backend", "mock", "--backend-option", "default=hello there"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "hello there"
    result = cli.invoke(app, ["generate", "q", "--backend", "mock", "--backend-option", "n_ctx=5"])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: the mock backend has no option 'n_ctx'; valid options: ")
    assert "default, max_prompts, responses, rules" in line
    result = cli.invoke(app, ["run", "pal", "q", "--backend", "openai:http://127.0.0.1:9/v1",
                              "--backend-option", "dialect=klingon"])
    assert result.exit_code == 2
    assert "unknown server dialect 'klingon'" in result.stderr


def test_verbose_logs_and_quiet_silences_warnings(tmp_path: Path) -> None:
    result = cli.invoke(app, ["-v", "generate", "q", "--backend", "mock", "--backend-option", "default=x"])
    assert "info: backend mock ready" in result.stderr
    result = cli.invoke(app, ["generate", "q", "--backend", "mock", "--backend-option", "default=x"])
    assert "info:" not in result.stderr


def test_progress_bars_are_turned_off_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in QUIET_PROGRESS:
        monkeypatch.delenv(name, raising=False)
    assert cli.invoke(app, ["templates"]).exit_code == 0
    assert all(os.environ.get(name) == value for name, value in QUIET_PROGRESS.items())


def test_react_reports_tool_errors_when_every_tool_call_failed(tmp_path: Path) -> None:
    backend = script(tmp_path, " Compute.\nAction 1: Calculator[1 / 0]", " Again.\nAction 2: Calculator[2 ** ]",
                     " Sure.\nAction 3: Finish[42]")
    result = cli.invoke(app, ["run", "react", "What is 6 x 7?", "--backend", backend, "--tools", "calculator"])
    assert result.exit_code == 1
    assert result.stdout.strip() == "42"
    assert "warning: every tool call failed (2 of 2" in result.stderr
    result = cli.invoke(app, ["run", "react", "What is 6 x 7?", "--backend", backend, "--tools", "calculator",
                              "--json"])
    assert json.loads(result.stdout)["status"] == "tool_errors"


def test_react_with_one_good_tool_call_is_ok(tmp_path: Path) -> None:
    backend = script(tmp_path, " Compute.\nAction 1: Calculator[1 / 0]", " Again.\nAction 2: Calculator[6 * 7]",
                     " Sure.\nAction 3: Finish[42]")
    result = cli.invoke(app, ["run", "react", "What is 6 x 7?", "--backend", backend, "--tools", "calculator"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


class _Engine:
    """Checks that each chunk reached stdout before the next one is produced."""

    def __init__(self, sink: io.StringIO) -> None:
        self.sink = sink

    def stream(self, prompt: str, config: object) -> Iterator[str]:
        for chunk in ("one", " two", " three"):
            yield chunk
            assert self.sink.getvalue().endswith(chunk)  # written (and flushed) as soon as it came


def test_streaming_writes_each_chunk_as_it_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    sink = io.StringIO()
    monkeypatch.setattr(sys, "stdout", sink)
    generate_module._stream(_Engine(sink), "p", None, chat=False)  # type: ignore[arg-type]
    assert sink.getvalue() == "one two three\n"


def run_on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run the CLI with stdout on a pseudo-terminal; its exit code and what it printed there."""
    controller, terminal = pty.openpty()
    command = [sys.executable, "-c", "from promptlab.cli.app import main; main()", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, stdout=terminal, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    os.close(terminal)
    output = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            process.kill()
            break
        try:
            data = os.read(controller, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        output += data
    os.close(controller)
    return process.wait(timeout=60), output.decode().replace("\r\n", "\n")


def test_run_on_a_terminal_shows_the_model_text_then_the_answer(tmp_path: Path) -> None:
    backend = script(tmp_path, " Two and two make four. The answer is 4.")
    code, output = run_on_a_terminal(["run", "cot", "What is 2 + 2?", "--backend", backend])
    assert code == 0
    assert output == " Two and two make four. The answer is 4.\n4\n"
    code, output = run_on_a_terminal(["run", "cot", "What is 2 + 2?", "--backend", backend, "--no-stream"])
    assert output == "4\n"


def test_generate_on_a_terminal_streams(tmp_path: Path) -> None:
    code, output = run_on_a_terminal(["generate", "q", "--backend", "mock", "--backend-option", "default=a b c"])
    assert (code, output) == (0, "a b c\n")
