import json
from pathlib import Path

from typer.testing import CliRunner

from promptlab.cli.app import app

runner = CliRunner()


def _files(tmp_path: Path, answers: list[str]) -> tuple[Path, Path]:
    data = tmp_path / "sums.jsonl"
    data.write_text("".join(json.dumps({"question": f"{i} + {i}?", "answer": str(2 * i)}) + "\n"
                            for i in range(1, 5)), encoding="utf-8")
    script = tmp_path / "model.json"
    script.write_text(json.dumps(answers), encoding="utf-8")
    return data, script


def _eval(data: Path, script: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["eval", str(data), "--strategy", "direct", "--backend", f"mock:{script}",
                               "--out", str(out), "--no-progress", *extra])


def test_eval_writes_results_traces_and_report(tmp_path: Path) -> None:
    data, script = _files(tmp_path, ["2", "4", "7", "8"])
    out = tmp_path / "out"
    result = _eval(data, script, out)
    assert result.exit_code == 0, result.output
    assert "direct · sums · mock:" in result.stdout and "accuracy 75.0% on 4 items" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [".lock", "eval.json", "report.html", "report.md", "results.jsonl",
                                                     "traces.jsonl"]
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["prediction"] for r in results] == ["2", "4", "7", "8"]
    assert "75.0%" in (out / "report.md").read_text()
    show = runner.invoke(app, ["trace", "show", str(out / "traces.jsonl"), "-i", "2"])
    assert show.exit_code == 0 and "3 + 3?" in show.stdout


def test_eval_resumes_and_refuses_a_different_config(tmp_path: Path) -> None:
    data, script = _files(tmp_path, ["2", "4"])
    out = tmp_path / "out"
    assert _eval(data, script, out, "--limit", "2").exit_code == 0
    script.write_text(json.dumps(["6", "8"]))  # the model has only the two remaining answers
    resumed = _eval(data, script, out)
    assert resumed.exit_code == 0, resumed.output
    assert "2 of 4 items already done" in resumed.stderr
    assert "accuracy 100.0% on 4 items" in resumed.stdout
    other = runner.invoke(app, ["eval", str(data), "--strategy", "cot", "--backend", f"mock:{script}",
                                "--out", str(out), "--no-progress"])
    assert other.exit_code == 2
    assert "different config" in other.stderr and "strategy: 'direct' there, 'cot' now" in other.stderr
    assert len((out / "results.jsonl").read_text().splitlines()) == 4


def test_eval_with_a_malformed_dataset_line(tmp_path: Path) -> None:
    data, script = _files(tmp_path, ["2", "4", "6", "8"])
    data.write_text(data.read_text() + "{broken\n")
    skipped = _eval(data, script, tmp_path / "a")
    assert skipped.exit_code == 0, skipped.output
    assert "skipped 1 malformed record(s)" in skipped.stderr and "line 5" in skipped.stderr
    strict = _eval(data, script, tmp_path / "b", "--strict")
    assert strict.exit_code == 2 and "line 5: not valid JSON" in strict.stderr
    assert not (tmp_path / "b").exists()


def test_eval_progress_bar_and_bad_options(tmp_path: Path) -> None:
    data, script = _files(tmp_path, ["2", "4", "6", "8"])
    shown = runner.invoke(app, ["eval", str(data), "--backend", f"mock:{script}", "--out", str(tmp_path / "p")])
    assert shown.exit_code == 0 and "4/4" in shown.stderr
    bad = _eval(data, script, tmp_path / "q", "--strategy", "tree-of-thought")
    assert bad.exit_code == 2 and "unknown strategy" in bad.stderr
    missing = _eval(tmp_path / "nope.jsonl", script, tmp_path / "r")
    assert missing.exit_code == 2 and "no dataset named" in missing.stderr


def test_report_compares_directories(tmp_path: Path) -> None:
    data, script = _files(tmp_path, ["2", "4", "6", "8"])
    assert _eval(data, script, tmp_path / "one").exit_code == 0
    script.write_text(json.dumps(["0", "0", "0", "8"]))
    assert _eval(data, script, tmp_path / "two").exit_code == 0
    result = runner.invoke(app, ["report", str(tmp_path / "one"), str(tmp_path / "two"), "-o", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "cmp" / "report.md").read_text()
    assert "| 100.0% |" in md and "| 25.0% |" in md
    assert runner.invoke(app, ["report", str(tmp_path / "one"), str(tmp_path / "two")]).exit_code == 2
    assert "not an evaluation directory" in runner.invoke(app, ["report", str(tmp_path)]).stderr


def test_runner_options_reach_the_runner_and_the_config(tmp_path: Path) -> None:
    data, script = _files(tmp_path, ["2 and more", "4", "6", "8"])
    out = tmp_path / "o"
    result = _eval(data, script, out, "--limit", "1", "-O", "max_new_tokens=1", "-O", 'stop=["\\n"]')
    assert result.exit_code == 0, result.output
    config = json.loads((out / "eval.json").read_text())
    assert config["options"] == {"max_new_tokens": 1, "stop": ["\n"]}
    [trace] = [json.loads(line) for line in (out / "traces.jsonl").read_text().splitlines()
               if '"event": "step"' in line]
    assert trace["completion"] == "2" and trace["completion_tokens"] == 1
    bad = _eval(data, script, tmp_path / "p", "-O", "no_such_knob=1")
    assert bad.exit_code == 2 and "no_such_knob" in bad.stderr
    assert not (tmp_path / "p").exists(), "a run that cannot start leaves no directory behind"
    malformed = _eval(data, script, tmp_path / "q", "-O", "oops")
    assert malformed.exit_code == 2 and "KEY=VALUE" in malformed.stderr


def test_a_backend_that_dies_stops_the_run_and_the_rerun_finishes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from promptlab.backends import MockBackend
    from promptlab.errors import BackendUnavailableError

    class Dying(MockBackend):
        def _generate(self, prompt, config):  # type: ignore[no-untyped-def]
            if "3 + 3" in prompt:
                raise BackendUnavailableError("connection refused")
            return super()._generate(prompt, config)

    data, script = _files(tmp_path, [])
    answers = {f"{i} + {i}?": str(2 * i) for i in range(1, 5)}
    responder = lambda prompt: next(a for q, a in answers.items() if q in prompt)  # noqa: E731
    monkeypatch.setattr("promptlab.cli.common.load_backend", lambda spec: Dying(default=responder))
    out = tmp_path / "out"
    first = _eval(data, script, out)
    assert first.exit_code == 2
    assert "stopped early with 2 item(s) left" in first.stderr and "connection refused" in first.stderr
    assert "rerun the same command" in first.stderr
    assert (out / "report.md").exists(), "a partial report is written"
    monkeypatch.setattr("promptlab.cli.common.load_backend", lambda spec: MockBackend(default=responder))
    second = _eval(data, script, out)
    assert second.exit_code == 0, second.output
    assert "2 of 4 items already done" in second.stderr and "accuracy 100.0% on 4 items" in second.stdout
    assert len((out / "results.jsonl").read_text().splitlines()) == 4


def test_the_default_output_directory_is_one_per_dataset_and_strategy(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    data, script = _files(tmp_path, ["2", "4", "6", "8"])
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["eval", str(data), "--strategy", "direct", "--backend", f"mock:{script}",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "sums-direct" / "results.jsonl").is_file()
    assert "runs/sums-direct" in result.stdout
    assert not (tmp_path / "eval-out").exists()


def test_items_that_ended_in_error_are_counted_with_the_retry_hint(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from promptlab.backends import MockBackend

    def answer(prompt: str) -> str:
        if "2 + 2" in prompt:
            raise ValueError("the model broke on this one")
        return str(2 * int(prompt.split(" + ")[0].split()[-1]))

    data, script = _files(tmp_path, [])
    monkeypatch.setattr("promptlab.cli.common.load_backend", lambda spec: MockBackend(default=answer))
    some = _eval(data, script, tmp_path / "some")
    assert some.exit_code == 0, some.output
    assert "1 of 4 item(s) ended in an error" in some.stderr and "--retry-errors" in some.stderr
    assert "the model broke" in some.stderr


def test_every_item_in_error_exits_non_zero(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from promptlab.backends import MockBackend

    def broken(prompt: str) -> str:
        raise ValueError("no answer for you")

    data, script = _files(tmp_path, [])
    monkeypatch.setattr("promptlab.cli.common.load_backend", lambda spec: MockBackend(default=broken))
    result = _eval(data, script, tmp_path / "all")
    assert result.exit_code == 1
    assert "4 of 4 item(s) ended in an error" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: every item ended in an error")
    assert (tmp_path / "all" / "report.md").is_file(), "the report still shows what happened"


def test_datasets_lists_the_shipped_datasets_with_sizes_sources_and_licences() -> None:
    result = runner.invoke(app, ["datasets", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"gsm8k", "gsm8k-train", "svamp", "gsm-hard", "mawps-multiarith", "mawps-addsub",
                         "mawps-singleeq", "mawps-singleop", "hotpotqa"}
    assert rows["gsm8k"]["items"] == 1319 and rows["gsm8k"]["licence"] == "MIT" and rows["gsm8k"]["bytes"] > 100_000
    assert "grade-school-math" in rows["gsm8k"]["source"] and rows["hotpotqa"]["licence"] == "CC BY-SA 4.0"
    table = runner.invoke(app, ["datasets"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "mawps-singleop" in table.stdout and "LICENSES.md" in table.stdout
