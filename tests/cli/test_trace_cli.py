from pathlib import Path

from typer.testing import CliRunner

from promptlab.cli.app import app
from promptlab.tracing import TraceRecorder

runner = CliRunner()

FEW_SHOT = "Question: an example\nThought 1: ...\n" * 40


def _trace_file(tmp_path: Path) -> Path:
    path = tmp_path / "run.jsonl"
    recorder = TraceRecorder("react", "Who wrote Hamlet?", sink=path, backend="mock")
    first = FEW_SHOT + "Question: Who wrote Hamlet?\nThought 1:"
    recorder.add("generate", prompt=first, completion=" I should search.\nAction 1: Search[Hamlet]",
                 prompt_tokens=900, completion_tokens=9, latency_s=0.25)
    recorder.add("action", action={"tool": "search", "argument": "Hamlet"},
                 observation="Hamlet is a tragedy by William Shakespeare.")
    second = first + " I should search.\nAction 1: Search[Hamlet]\nObservation 1: Hamlet is a tragedy.\nThought 2:"
    recorder.add("generate", prompt=second, completion=" So the answer is Shakespeare.\nAction 2: Finish[Shakespeare]")
    recorder.finish("William Shakespeare", "ok")
    TraceRecorder("cot", "<b>2+2</b>", sink=path).finish(None, "no_answer")
    return path


def test_trace_show_prints_steps_readably(tmp_path: Path) -> None:
    result = runner.invoke(app, ["trace", "show", str(_trace_file(tmp_path)), "--index", "0"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Who wrote Hamlet?" in out and "William Shakespeare" in out
    assert "Search[Hamlet]" in out, "brackets must not be eaten as rich markup"
    assert "Hamlet is a tragedy by William Shakespeare." in out
    assert "900 prompt + 9 completion tokens" in out
    assert "--full shows them" in out
    assert out.count("Question: an example") < 20, "most of the long few-shot prefix is hidden by default"
    assert "Thought 2:" in out, "the new part of the second prompt is shown"


def test_trace_show_full_and_all_traces(tmp_path: Path) -> None:
    result = runner.invoke(app, ["trace", "show", str(_trace_file(tmp_path)), "--full"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("Question: an example") >= 40
    assert "trace 2 of 2" in result.stdout and "no_answer" in result.stdout


def test_trace_html_writes_a_self_contained_page(tmp_path: Path) -> None:
    page = tmp_path / "out.html"
    result = runner.invoke(app, ["trace", "html", str(_trace_file(tmp_path)), "-o", str(page)])
    assert result.exit_code == 0, result.output
    assert "wrote 2 trace(s)" in result.stdout
    doc = page.read_text()
    assert doc.startswith("<!DOCTYPE html>") and "<style>" in doc and "<script" not in doc
    assert "Search[Hamlet]" in doc and "&lt;b&gt;2+2&lt;/b&gt;" in doc and "<b>2+2</b>" not in doc
    assert "full prompt" in doc


def test_trace_errors_are_one_line(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["trace", "show", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    out_of_range = runner.invoke(app, ["trace", "show", str(_trace_file(tmp_path)), "--index", "5"])
    assert out_of_range.exit_code == 2 and "holds 2 traces" in out_of_range.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert "holds no traces" in runner.invoke(app, ["trace", "show", str(empty)]).stderr
