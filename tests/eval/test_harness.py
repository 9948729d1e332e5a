import asyncio
import json
from pathlib import Path

import pytest

from promptlab.backends import MockBackend
from promptlab.errors import ConfigError, ToolError
from promptlab.eval.checkpoint import Checkpoint, load_results
from promptlab.eval.datasets import Dataset
from promptlab.eval.harness import run_evaluation
from promptlab.runners.result import RunResult
from promptlab.tracing import Trace, read_traces

from .conftest import DyingBackend, EchoRunner, addition, config_for


def _result_ids(out: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (out / "results.jsonl").read_text().splitlines()]


def test_full_run_checkpoints_every_item_with_its_trace(sums: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    seen: list[str] = []
    with Checkpoint.open(out, config_for(sums)) as checkpoint:
        outcome = run_evaluation(sums, EchoRunner(MockBackend(default=addition)), checkpoint,
                                 on_result=lambda r: seen.append(r.id))
    assert (outcome.total, outcome.skipped, outcome.completed, outcome.aborted) == (10, 0, 10, None)
    assert sorted(seen) == sorted(_result_ids(out)) == sorted(e.id for e in sums.items)
    results = {r.id: r for r in load_results(out)}
    assert [i for i, r in results.items() if not r.correct] == ["s7"]
    assert results["s3"].prediction == "6" and results["s3"].steps == 1 and results["s3"].prompt_tokens > 0
    traces = read_traces(out / "traces.jsonl")
    assert sorted(t.metadata["item_id"] for t in traces) == sorted(results)
    assert all(t.status == "ok" and len(t.steps) == 1 for t in traces)


def test_limit_takes_the_first_items(sums: Dataset, tmp_path: Path) -> None:
    with Checkpoint.open(tmp_path / "run", config_for(sums)) as checkpoint:
        outcome = run_evaluation(sums, EchoRunner(MockBackend(default=addition)), checkpoint, limit=3)
    assert outcome.total == 3
    assert sorted(_result_ids(tmp_path / "run")) == ["s0", "s1", "s2"]


def test_a_backend_that_dies_leaves_a_checkpoint_the_rerun_completes(sums: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    dying = DyingBackend(alive=4, default=addition)
    with Checkpoint.open(out, config_for(sums)) as checkpoint:
        first = run_evaluation(sums, EchoRunner(dying), checkpoint, concurrency=2)
    assert first.aborted is not None and "refused the connection" in first.aborted
    assert first.completed == 4 and first.remaining == 6
    finished = set(_result_ids(out))
    assert len(finished) == 4

    healthy = MockBackend(default=addition)
    with Checkpoint.open(out, config_for(sums)) as checkpoint:
        second = run_evaluation(sums, EchoRunner(healthy), checkpoint, concurrency=2)
    assert (second.skipped, second.completed, second.aborted) == (4, 6, None)
    ids = _result_ids(out)
    assert len(ids) == len(set(ids)) == 10, "no item is lost or recorded twice"
    asked = {p.split("What is ")[1].split(" +")[0] for p in healthy.prompts}
    assert not asked & {i.removeprefix("s") for i in finished}, "finished items are not run again"
    assert len(read_traces(out / "traces.jsonl")) == 10


def test_a_torn_last_line_is_dropped_and_that_item_reruns(sums: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with Checkpoint.open(out, config_for(sums)) as checkpoint:
        run_evaluation(sums, EchoRunner(MockBackend(default=addition)), checkpoint, limit=3)
    results = out / "results.jsonl"
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:2]) + lines[2][:25])  # crash in the middle of the third line
    backend = MockBackend(default=addition)
    with Checkpoint.open(out, config_for(sums)) as checkpoint:
        outcome = run_evaluation(sums, EchoRunner(backend), checkpoint, limit=3)
    assert (outcome.skipped, outcome.completed) == (2, 1)
    assert len(backend.prompts) == 1
    assert sorted(_result_ids(out)) == ["s0", "s1", "s2"]


def test_the_concurrency_bound_is_respected(sums: Dataset, tmp_path: Path) -> None:
    class SlowRunner:
        active = peak = 0

        async def arun(self, question: str) -> RunResult:
            SlowRunner.active += 1
            SlowRunner.peak = max(SlowRunner.peak, SlowRunner.active)
            await asyncio.sleep(0.01)
            SlowRunner.active -= 1
            return RunResult(answer="0", status="ok", trace=Trace(strategy="slow", question=question))

        def run(self, question: str) -> RunResult:
            raise AssertionError

    with Checkpoint.open(tmp_path / "run", config_for(sums)) as checkpoint:
        outcome = run_evaluation(sums, SlowRunner(), checkpoint, concurrency=3)
    assert outcome.completed == 10
    assert SlowRunner.peak == 3


def test_a_sync_runner_runs_in_threads(sums: Dataset, tmp_path: Path) -> None:
    class SyncRunner:
        def run(self, question: str) -> RunResult:
            return RunResult(answer=question.split()[2], status="ok", trace=Trace(strategy="sync", question=question))

    with Checkpoint.open(tmp_path / "run", config_for(sums)) as checkpoint:
        outcome = run_evaluation(sums, SyncRunner(), checkpoint, concurrency=4)
    assert outcome.completed == 10
    assert sum(r.correct for r in load_results(tmp_path / "run")) == 1  # only 0 + 0 == 0


def test_an_item_that_raises_is_recorded_and_can_be_retried(sums: Dataset, tmp_path: Path) -> None:
    class Flaky:
        broken = True

        def run(self, question: str) -> RunResult:
            if self.broken and "5 + 5" in question:
                raise ToolError("calculator rejected the expression")
            return RunResult(answer=str(2 * int(question.split()[2])), status="ok",
                             trace=Trace(strategy="flaky", question=question))

    out, runner = tmp_path / "run", Flaky()
    with Checkpoint.open(out, config_for(sums)) as checkpoint:
        assert run_evaluation(sums, runner, checkpoint).completed == 10
    [failed] = [r for r in load_results(out) if not r.correct]
    assert failed.status == "error" and failed.error == "ToolError: calculator rejected the expression"
    runner.broken = False
    with Checkpoint.open(out, config_for(sums)) as checkpoint:
        assert run_evaluation(sums, runner, checkpoint).completed == 0
        again = run_evaluation(sums, runner, checkpoint, retry_errors=True)
    assert (again.skipped, again.completed) == (9, 1)
    assert all(r.correct for r in load_results(out))


def test_changed_sampling_defaults_are_refused_but_a_directory_without_a_plan_resumes(
        sums: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with Checkpoint.open(out, config_for(sums)):  # written before plans were recorded: no plan
        pass
    adaptive = config_for(sums).model_copy(update={"plan": "n=2, greedy vote, adaptive: rounds of 2"})
    with Checkpoint.open(out, adaptive):
        pass
    with pytest.raises(ConfigError, match=r"plan: 'n=2, greedy vote, adaptive: rounds of 2' there, 'n=2' now"):
        Checkpoint.open(out, config_for(sums).model_copy(update={"plan": "n=2"}))


def test_a_different_config_is_refused_unless_forced(sums: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with Checkpoint.open(out, config_for(sums)) as checkpoint:
        run_evaluation(sums, EchoRunner(MockBackend(default=addition)), checkpoint, limit=2)
    with pytest.raises(ConfigError, match=r"strategy: 'echo' there, 'other' now.*--force"):
        Checkpoint.open(out, config_for(sums, strategy="other"))
    with Checkpoint.open(out, config_for(sums, strategy="other"), force=True) as checkpoint:
        assert checkpoint.results == []
    assert not (out / "results.jsonl").exists()


def test_a_directory_that_is_not_an_eval_is_never_written(sums: Dataset, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not an evaluation directory"):
        Checkpoint.open(tmp_path, config_for(sums))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "sums.jsonl"]


def test_bad_arguments(sums: Dataset, tmp_path: Path) -> None:
    with Checkpoint.open(tmp_path / "run", config_for(sums)) as checkpoint:
        runner = EchoRunner(MockBackend(default=addition))
        with pytest.raises(ConfigError, match="concurrency"):
            run_evaluation(sums, runner, checkpoint, concurrency=0)
        with pytest.raises(ConfigError, match="limit"):
            run_evaluation(sums, runner, checkpoint, limit=0)
