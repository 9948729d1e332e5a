"""Hostile model outputs and dataset items never stop an evaluation; --force and --out are safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptlab.cli.app import app
from promptlab.errors import ConfigError
from promptlab.eval.checkpoint import Checkpoint, EvalConfig, load_results
from promptlab.runners.answers import parse_number

runner = CliRunner()

HOSTILE_ANSWERS = [
    "9" * 5_000,                       # longer than Python's int-string limit
    "2 \ud800 lone surrogate",         # UTF-8 cannot encode it
    "<script>alert(1)</script> 7",     # raw HTML for the Markdown report
    "1" + " " * 20_000 + "1/",          # fed the quadratic regex before
]


def _dataset(tmp_path: Path) -> Path:
    data = tmp_path / "sums.jsonl"
    questions = ["1 + 1?", "What is \ud800 + 2?", "3 + 3?", "4 + 4?"]
    data.write_text("".join(json.dumps({"question": q, "answer": str(2 * i)}) + "\n"
                            for i, q in enumerate(questions, start=1)), encoding="utf-8")
    return data


def _eval(tmp_path: Path, out: Path, answers: list[str], *extra: str):  # type: ignore[no-untyped-def]
    script = tmp_path / "model.json"
    script.write_text(json.dumps(answers), encoding="utf-8")  # json escapes the surrogate as \\ud800
    return runner.invoke(app, ["eval", str(_dataset(tmp_path)), "--strategy", "direct", "--backend",
                               f"mock:{script}", "--out", str(out), "--no-progress", *extra])


def test_hostile_answers_are_recorded_and_the_run_finishes_with_a_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _eval(tmp_path, out, HOSTILE_ANSWERS)
    assert result.exit_code == 0, result.output
    results = {r.id: r for r in load_results(out)}
    assert len(results) == 4  # every item recorded, none lost
    for name in ("results.jsonl", "traces.jsonl", "report.md", "report.html"):
        (out / name).read_bytes().decode("utf-8")  # valid UTF-8 whatever the model wrote
    assert "\ufffd" in (out / "traces.jsonl").read_text(encoding="utf-8")
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    rerun = _eval(tmp_path, out, HOSTILE_ANSWERS)  # resuming reads everything back
    assert rerun.exit_code == 0, rerun.output
    assert "4 of 4 items already done" in rerun.output


def test_a_number_past_the_digit_limit_is_no_number() -> None:
    assert parse_number("9" * 5_000) is None
    assert parse_number("9" * 100) == int("9" * 100)


def test_force_deletes_only_what_the_evaluation_wrote_and_refuses_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _eval(tmp_path, out, ["2", "4", "6", "8"]).exit_code == 0
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    refused = _eval(tmp_path, out, ["2", "4", "6", "8"], "--force")
    assert refused.exit_code == 2
    assert "--force refused" in refused.output and "notes.txt" in refused.output
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert len(load_results(out)) == 4  # nothing lost either
    (out / "notes.txt").unlink()
    assert _eval(tmp_path, out, ["2", "4", "6", "8"], "--force").exit_code == 0


def test_force_refuses_a_directory_that_is_not_an_evaluation(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "report.md").write_text("my own report", encoding="utf-8")
    result = _eval(tmp_path, out, ["2"], "--force")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert (out / "report.md").read_text(encoding="utf-8") == "my own report"


def test_a_second_run_on_a_locked_directory_is_refused_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _eval(tmp_path, out, ["2", "4", "6", "8"]).exit_code == 0
    config = EvalConfig.model_validate({k: v for k, v in json.loads((out / "eval.json").read_text()).items()
                                        if k != "files"})
    with Checkpoint.open(out, config):
        result = _eval(tmp_path, out, ["2", "4", "6", "8"])
        assert result.exit_code == 2
        assert "in use by another evaluation" in result.output and result.output.count("\n") == 1
        with pytest.raises(ConfigError, match="in use"):
            Checkpoint.open(out, config)
    assert _eval(tmp_path, out, ["2", "4", "6", "8"]).exit_code == 0  # released with the first run
