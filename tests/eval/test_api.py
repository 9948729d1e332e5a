"""promptlab.evaluate: one call writes what ``promptlab eval`` writes and returns the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import promptlab
from promptlab.backends import MockBackend
from promptlab.cli.app import app
from promptlab.errors import ConfigError
from promptlab.eval import default_out_dir, load_dataset
from promptlab.runners import _sampling

FILES = [".lock", "eval.json", "report.html", "report.md", "results.jsonl", "traces.jsonl"]


def _doubler(prompt: str) -> str:
    """Answers ``What is A + B?`` for the sums fixture (conftest), wrong for 7 + 7."""
    a = int(prompt.split("What is ")[-1].split(" + ")[0])
    return "15" if a == 7 else str(2 * a)


def test_evaluate_returns_the_summary_and_writes_the_same_files_as_the_cli(sums, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = MockBackend(default=_doubler)
    summary = promptlab.evaluate(sums, strategy="direct", backend=llm, out=tmp_path / "api", limit=8, concurrency=3)
    assert summary.count == 8 and summary.accuracy == pytest.approx(7 / 8)
    assert summary.config.strategy == "direct" and summary.config.backend == "mock"
    assert sorted(p.name for p in (tmp_path / "api").iterdir()) == FILES
    assert not llm.closed, "a backend passed in stays open for its owner"
    script = tmp_path / "answers.json"
    script.write_text(json.dumps([_doubler(f"What is {i} + {i}?") for i in range(8)]))
    cli = CliRunner().invoke(app, ["eval", str(sums.path), "--strategy", "direct", "--backend", f"mock:{script}",
                                   "--out", str(tmp_path / "cli"), "--limit", "8", "--no-progress"])
    assert cli.exit_code == 0, cli.output
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == FILES
    assert _graded(tmp_path / "cli") == _graded(tmp_path / "api")
    resumed = promptlab.evaluate(sums, backend=llm, out=tmp_path / "api")
    assert resumed.count == 10 and len(llm.prompts) == 10, "the second call ran only the two remaining items"


def _graded(directory: Path) -> list[tuple[str, str | None, bool]]:
    results = [json.loads(line) for line in (directory / "results.jsonl").read_text().splitlines()]
    return sorted((r["id"], r["prediction"], r["correct"]) for r in results)


def test_evaluate_a_shipped_dataset_by_name_into_the_default_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    answers = {item.question: item.answer for item in load_dataset("mawps-singleop").items[:3]}
    llm = MockBackend(default=lambda prompt: next(a for q, a in answers.items() if q in prompt))
    summary = promptlab.evaluate("mawps-singleop", strategy="direct", backend=llm, limit=3)
    assert summary.accuracy == 1.0 and summary.count == 3
    assert summary.directory == default_out_dir("mawps-singleop", "direct") == Path("runs/mawps-singleop-direct")
    assert (tmp_path / "runs" / "mawps-singleop-direct" / "report.md").is_file()
    # the shipped file is named the same in every installation, so a reinstall does not block resuming
    assert summary.config.dataset_path == "promptlab/_data/pal/datasets/mawpssingleop.jsonl.gz"


def test_a_bad_runner_option_raises_before_anything_is_written(sums, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="no_such_knob"):
        promptlab.evaluate(sums, backend=MockBackend(), out=tmp_path / "x", options={"no_such_knob": 1})
    assert not (tmp_path / "x").exists()


def test_default_out_dir_is_one_per_dataset_and_strategy() -> None:
    assert default_out_dir("gsm8k", "pal") == Path("runs/gsm8k-pal")
    assert default_out_dir("my data/v2", "cot") == Path("runs/my-data-v2-cot")
    assert default_out_dir("gsm8k", "pal") != default_out_dir("gsm8k", "cot")


def test_the_results_hold_one_line_per_item(sums, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    promptlab.evaluate(sums, backend=MockBackend(default=_doubler), out=tmp_path / "o")
    lines = (tmp_path / "o" / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(item.id for item in sums.items)


@pytest.mark.slow
def test_evaluate_pal_on_the_embedded_model(llamacpp_backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The real thing: a shipped dataset, the PAL runner, the embedded GGUF model, the sandbox."""
    summary = promptlab.evaluate("mawps-singleop", strategy="pal", backend=llamacpp_backend, out=tmp_path / "pal",
                                 limit=2, options={"max_new_tokens": 160})
    assert summary.count == 2 and summary.config.backend == "llamacpp"
    assert summary.statuses["error"] == 0
    steps = [json.loads(line) for line in (tmp_path / "pal" / "traces.jsonl").read_text().splitlines()
             if '"event": "step"' in line]
    assert [step["kind"] for step in steps].count("execute") >= 2, "each program the model wrote ran in the sandbox"
    assert all(step["completion_tokens"] > 0 for step in steps if step["kind"] == "generate")
    assert not llamacpp_backend.closed


def test_the_recorded_n_is_the_votes_the_runner_asks_for(sums, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = MockBackend(rules=[(r"# solution in Python:\s*$", "def solution():\n    return 2")],
                      default="The answer is 2.")
    summary = promptlab.evaluate(sums, strategy="hybrid", backend=llm, out=tmp_path / "hybrid", limit=2)
    assert summary.config.n == 2  # the hybrid's own pair, though no n was given
    assert summary.config.plan == ("n=2, greedy vote, adaptive: rounds of 2, confidence 0.6 after 3 "
                                   "(or a grounded answer)")
    assert json.loads((tmp_path / "hybrid" / "eval.json").read_text())["n"] == 2


def test_the_recorded_sampling_names_the_knobs_when_the_runner_samples(  # type: ignore[no-untyped-def]
        sums, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    llm = MockBackend(default="The answer is 2.")
    greedy = promptlab.evaluate(sums, strategy="cot", backend=llm, out=tmp_path / "greedy", limit=1)
    assert (greedy.config.plan, greedy.config.sampling) == ("n=1", "")
    hybrid = promptlab.evaluate(sums, strategy="hybrid", backend=llm, out=tmp_path / "pair", limit=1)
    assert hybrid.config.sampling == ""  # two greedy votes: nothing is sampled
    mixed = promptlab.evaluate(sums, strategy="hybrid", backend=llm, out=tmp_path / "mixed", limit=1, n=4,
                               options={"cot": {"temperature": 0.9}})
    assert mixed.config.sampling == "pal: temperature 0.5; cot: temperature 0.9"
    voted = promptlab.evaluate(sums, strategy="cot", backend=llm, out=tmp_path / "sc", limit=1, n=4,
                               options={"greedy_vote": True, "min_p": 0.1})
    assert (voted.config.plan, voted.config.sampling) == ("n=4, greedy vote", "temperature 0.5, min_p 0.1")
    monkeypatch.setattr(_sampling, "SELF_CONSISTENCY_DEFAULTS", {"temperature": 0.7})  # a later release's default
    with pytest.raises(ConfigError, match=r"sampling: 'temperature 0\.5, min_p 0\.1' there, .*temperature 0\.7"):
        promptlab.evaluate(sums, strategy="cot", backend=llm, out=tmp_path / "sc", limit=2, n=4,
                           options={"greedy_vote": True, "min_p": 0.1})


def test_a_directory_from_before_sampling_was_recorded_resumes_only_if_it_does_not_sample(  # type: ignore[no-untyped-def]
        sums, tmp_path: Path) -> None:
    llm = MockBackend(default="The answer is 2.")
    out = tmp_path / "old"
    promptlab.evaluate(sums, strategy="cot", backend=llm, out=out, limit=1, n=4)
    record = json.loads((out / "eval.json").read_text())
    del record["sampling"], record["plan"]  # as an older release wrote it
    (out / "eval.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"sampling: not recorded there .*'temperature 0\.5' now"):
        promptlab.evaluate(sums, strategy="cot", backend=llm, out=out, limit=2, n=4)
    greedy_out = tmp_path / "old-greedy"
    promptlab.evaluate(sums, strategy="cot", backend=llm, out=greedy_out, limit=1)
    record = json.loads((greedy_out / "eval.json").read_text())
    del record["sampling"], record["plan"]
    (greedy_out / "eval.json").write_text(json.dumps(record))
    assert promptlab.evaluate(sums, strategy="cot", backend=llm, out=greedy_out, limit=2).count == 2  # no samples


def test_checked_arithmetic_is_recorded_and_an_older_cot_directory_resumes_only_without_it(  # type: ignore[no-untyped-def]
        sums, tmp_path: Path) -> None:
    llm = MockBackend(rules=[(r"# solution in Python:\s*$", "def solution():\n    return 2")],
                      default="1 + 1 = 3. The answer is 3.")
    cot = promptlab.evaluate(sums, strategy="cot", backend=llm, out=tmp_path / "cot", limit=1)
    assert cot.config.checks_arithmetic is True
    assert promptlab.evaluate(sums, strategy="pal", backend=llm, out=tmp_path / "pal", limit=1
                              ).config.checks_arithmetic is None  # no rationale to check
    assert promptlab.evaluate(sums, strategy="hybrid", backend=llm, out=tmp_path / "hybrid", limit=1,
                              options={"check_arithmetic": False}).config.checks_arithmetic is False
    old = tmp_path / "old"
    promptlab.evaluate(sums, strategy="cot", backend=llm, out=old, limit=1, options={"check_arithmetic": False})
    record = json.loads((old / "eval.json").read_text())
    del record["checks_arithmetic"], record["options"]["check_arithmetic"]  # as an older release wrote it
    (old / "eval.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"checks_arithmetic: not recorded there .*-O check_arithmetic=false"):
        promptlab.evaluate(sums, strategy="cot", backend=llm, out=old, limit=2)
    resumed = promptlab.evaluate(sums, strategy="cot", backend=llm, out=old, limit=2,
                                 options={"check_arithmetic": False})
    assert resumed.count == 2 and resumed.config.checks_arithmetic is False


def test_the_vote_weight_is_recorded_and_an_older_sampled_cot_directory_resumes_only_unweighted(  # type: ignore[no-untyped-def]
        sums, tmp_path: Path) -> None:
    llm = MockBackend(default="1 + 1 = 2. The answer is 2.")
    assert promptlab.evaluate(sums, strategy="cot", backend=llm, out=tmp_path / "one", limit=1
                              ).config.ungrounded_weight is None  # one sample: no vote to weigh
    sampled = promptlab.evaluate(sums, strategy="cot", backend=llm, out=tmp_path / "sampled", limit=1, n=3)
    assert sampled.config.ungrounded_weight == 0.25
    assert json.loads((tmp_path / "sampled" / "eval.json").read_text())["ungrounded_weight"] == 0.25
    old = tmp_path / "old"
    promptlab.evaluate(sums, strategy="cot", backend=llm, out=old, limit=1, n=3, options={"ungrounded_weight": 1})
    record = json.loads((old / "eval.json").read_text())
    del record["ungrounded_weight"], record["options"]["ungrounded_weight"]  # as an older release wrote it
    (old / "eval.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"ungrounded_weight: not recorded there .*-O ungrounded_weight=1"):
        promptlab.evaluate(sums, strategy="cot", backend=llm, out=old, limit=2, n=3)
    resumed = promptlab.evaluate(sums, strategy="cot", backend=llm, out=old, limit=2, n=3,
                                 options={"ungrounded_weight": 1})
    assert resumed.count == 2 and resumed.config.ungrounded_weight == 1.0


def test_the_hybrid_lead_is_recorded_and_an_older_hybrid_directory_resumes_only_with_pal_leading(  # type: ignore[no-untyped-def]
        sums, tmp_path: Path) -> None:
    llm = MockBackend(rules=[(r"# solution in Python:\s*$", "def solution():\n    return 2")],
                      default="1 + 1 = 2. The answer is 2.")
    assert promptlab.evaluate(sums, strategy="hybrid", backend=llm, out=tmp_path / "new", limit=1).config.lead == "cot"
    assert promptlab.evaluate(sums, strategy="cot", backend=llm, out=tmp_path / "cot", limit=1).config.lead is None
    old = tmp_path / "old"
    promptlab.evaluate(sums, strategy="hybrid", backend=llm, out=old, limit=1, options={"lead": "pal"})
    record = json.loads((old / "eval.json").read_text())
    del record["lead"], record["options"]["lead"]  # as an older release wrote it
    (old / "eval.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"lead: not recorded there .*-O lead=pal"):
        promptlab.evaluate(sums, strategy="hybrid", backend=llm, out=old, limit=2)
    resumed = promptlab.evaluate(sums, strategy="hybrid", backend=llm, out=old, limit=2, options={"lead": "pal"})
    assert resumed.count == 2 and resumed.config.lead == "pal"


def test_shuffle_with_limit_runs_a_random_sample_that_resumes_and_extends(sums, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm, out = MockBackend(default=_doubler), tmp_path / "sample"
    first = promptlab.evaluate(sums, strategy="direct", backend=llm, out=out, limit=3, shuffle=7)
    sample = [item.id for item in sums.shuffled(7).items]
    assert [r.id for r in first.results] == sample[:3] != [item.id for item in sums.items[:3]]
    assert first.config.shuffle == 7 and json.loads((out / "eval.json").read_text())["shuffle"] == 7
    assert "3 (shuffled, seed 7)" in (out / "report.md").read_text()
    extended = promptlab.evaluate(sums, strategy="direct", backend=llm, out=out, limit=5, shuffle=7)
    assert [r.id for r in extended.results] == sample[:5] and len(llm.prompts) == 5, "only two more items ran"
    for other in (None, 8):
        with pytest.raises(ConfigError, match=f"shuffle: 7 there, {other} now.*in --shuffle 7; pass the same"):
            promptlab.evaluate(sums, strategy="direct", backend=llm, out=out, limit=5, shuffle=other)
    script = tmp_path / "answers.json"
    script.write_text(json.dumps(["2", "4"]))
    cli = CliRunner().invoke(app, ["eval", str(sums.path), "--backend", f"mock:{script}", "--limit", "2",
                                   "--shuffle", "7", "--out", str(tmp_path / "cli"), "--no-progress"])
    assert cli.exit_code == 0, cli.output
    assert [json.loads(line)["id"] for line in (tmp_path / "cli" / "results.jsonl").read_text().splitlines()] \
        == sample[:2]
