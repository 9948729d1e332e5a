"""One call from a dataset name to a scored, reported evaluation: :func:`evaluate` (the CLI runs the same code).

``evaluate("gsm8k", strategy="pal", backend=llm, out="runs/pal", limit=50)`` loads the
dataset (with ``shuffle=0``, a random sample of 50 instead of the first 50), builds the
strategy's runner, runs the items not yet in ``out`` (resuming an interrupted run), and
writes ``eval.json``, ``results.jsonl``, ``traces.jsonl``, ``report.md`` and ``report.html``
there, exactly as ``promptlab eval`` does.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from promptlab.backends import Backend, load_backend
from promptlab.config import GenerationConfig
from promptlab.errors import ConfigError
from promptlab.eval.checkpoint import Checkpoint, EvalConfig, ItemResult
from promptlab.eval.datasets import Dataset, Task, load_dataset, shipped_data_dir
from promptlab.eval.harness import EvalOutcome, RunnerLike, run_evaluation
from promptlab.eval.report import EvalSummary, summarize, write_report
from promptlab.eval.strategies import build_runner
from promptlab.runners import SamplingPlan

__all__ = ["EvalProgress", "EvalRun", "default_out_dir", "evaluate", "run_eval"]


class EvalProgress(Protocol):
    """Hears how an evaluation goes (the CLI draws its progress bar with one)."""

    def start(self, data: Dataset, total: int, prior: list[ItemResult]) -> None:
        """The run begins: ``total`` items selected, ``prior`` of them already done in the output directory."""

    def advance(self, result: ItemResult) -> None:
        """One more item finished and was saved."""


@dataclass(frozen=True)
class EvalRun:
    """What :func:`run_eval` did: the output directory's summary, how this run went, the report files."""

    summary: EvalSummary
    outcome: EvalOutcome
    report: tuple[Path, Path]
    """``report.md`` and ``report.html``."""


def default_out_dir(dataset: str, strategy: str) -> Path:
    """``runs/<dataset>-<strategy>``: one directory per dataset and strategy, so runs never mix."""
    return Path("runs") / re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{dataset}-{strategy}").strip("-.")


def evaluate(
    dataset: str | Path | Dataset,
    *,
    strategy: str = "direct",
    backend: Backend | str = "llamacpp",
    out: str | Path | None = None,
    limit: int | None = None,
    shuffle: int | None = None,
    n: int = 1,
    concurrency: int = 1,
    options: dict[str, Any] | None = None,
    task: Task | None = None,
    strict: bool = False,
    data_dir: str | Path | None = None,
    force: bool = False,
    retry_errors: bool = False,
) -> EvalSummary:
    """Evaluate ``strategy`` on ``dataset`` and return the summary of the output directory.

    ``dataset`` is a shipped name (``"gsm8k"``, see ``promptlab datasets``), a JSON/JSONL
    file or a loaded :class:`Dataset`. ``backend`` is a backend (left open for you) or a
    spec string (loaded and closed here). ``shuffle`` runs the items in a random order fixed by
    that seed, so that ``limit`` (or an interrupted run) takes a random sample. ``out`` defaults to
    ``runs/<dataset>-<strategy>``; running again with the same arguments resumes, a different
    configuration there raises unless ``force``. ``options`` go to the runner (``max_new_tokens``,
    ``temperature``, ...). A backend that goes away stops the run early: the summary then covers
    the finished items, and calling again finishes the rest.
    """
    return run_eval(dataset, strategy=strategy, backend=backend, out=out, limit=limit, shuffle=shuffle,
                    n=n, concurrency=concurrency, options=options, task=task, strict=strict, data_dir=data_dir,
                    force=force, retry_errors=retry_errors).summary


def run_eval(
    dataset: str | Path | Dataset,
    *,
    strategy: str = "direct",
    backend: Backend | str = "llamacpp",
    backend_spec: str | None = None,
    out: str | Path | None = None,
    limit: int | None = None,
    shuffle: int | None = None,
    n: int = 1,
    concurrency: int = 1,
    options: dict[str, Any] | None = None,
    task: Task | None = None,
    strict: bool = False,
    data_dir: str | Path | None = None,
    force: bool = False,
    retry_errors: bool = False,
    progress: EvalProgress | None = None,
) -> EvalRun:
    """:func:`evaluate`, also returning how the run went; ``backend_spec`` names a given backend in ``eval.json``."""
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    data = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, data_dir=data_dir, strict=strict,
                                                                     task=task)
    if shuffle is not None:
        data = data.shuffled(shuffle)
    directory = Path(out) if out is not None else default_out_dir(data.name, strategy)
    runner_options = dict(options or {})
    with ExitStack() as stack:
        if isinstance(backend, str):
            spec, engine = backend, stack.enter_context(load_backend(backend))
        else:
            spec, engine = backend_spec or backend.name, backend
        try:  # before the checkpoint: a bad option must not leave an eval.json behind
            runner = build_runner(strategy, engine, n=n, task=data.task, **runner_options)
        except TypeError as exc:  # an option the runner does not take
            raise ConfigError(f"runner option: {exc}") from None
        plan = getattr(runner, "plan", None)  # the votes the runner asks for (the hybrid has its own defaults)
        sampling = plan if isinstance(plan, SamplingPlan) else None
        config = EvalConfig(dataset=data.name, dataset_path=_location(data.path), fingerprint=data.fingerprint,
                            task=data.task, strategy=strategy, backend=spec,
                            n=sampling.n if sampling else n, shuffle=shuffle, options=runner_options,
                            plan=sampling.describe() if sampling else None,
                            sampling=describe_sampling(runner, sampling) if sampling else None,
                            checks_arithmetic=checks_arithmetic(runner),
                            ungrounded_weight=ungrounded_weight(runner, sampling),
                            lead=getattr(runner, "lead", None))
        checkpoint = stack.enter_context(Checkpoint.open(directory, config, force=force))
        selected = {item.id for item in data.items[:limit]}
        finished = checkpoint.finished_ids(retry_errors=retry_errors) & selected
        if progress is not None:
            progress.start(data, len(selected), [r for r in checkpoint.results if r.id in finished])
        outcome = run_evaluation(data, runner, checkpoint, concurrency=concurrency, limit=limit,
                                 retry_errors=retry_errors, on_result=progress.advance if progress else None)
        report = write_report([directory], directory)  # still under the directory's lock
    return EvalRun(summary=summarize(directory), outcome=outcome, report=report)


def checks_arithmetic(runner: RunnerLike) -> bool | None:
    """Whether ``runner``'s rationales (its own, or its CoT runner's) go through the arithmetic check;
    None when it writes none."""
    checking = getattr(getattr(runner, "cot", runner), "check_arithmetic", None)
    return checking if isinstance(checking, bool) else None


def ungrounded_weight(runner: RunnerLike, plan: SamplingPlan | None) -> float | None:
    """What an ungrounded CoT vote of ``runner`` (its own, or its CoT runner's) counts; None when it
    votes over no rationales (one sample, or no rationales at all)."""
    weight = getattr(getattr(runner, "cot", runner), "ungrounded_weight", None)
    return weight if isinstance(weight, float) and plan is not None and plan.n > 1 else None


def describe_sampling(runner: RunnerLike, plan: SamplingPlan) -> str:
    """The knobs ``runner`` samples with, defaults included (``"temperature 0.5, min_p 0.1"``; the
    hybrid's as ``"pal: ...; cot: ..."`` when they differ), or ``""`` when ``plan`` draws no samples."""
    runners = [r for r in (getattr(runner, "pal", None), getattr(runner, "cot", None)) if r is not None] or [runner]
    configs = [(getattr(r, "strategy", ""), c) for r in runners
               if isinstance(c := getattr(r, "config", None), GenerationConfig)]
    greedy_votes = getattr(runner, "greedy_votes", 1) if plan.greedy_vote else 0
    if plan.n <= greedy_votes or not configs or not any(c.sampling for _, c in configs):
        return ""
    described = {name: _knobs(config) for name, config in configs}
    if len(set(described.values())) == 1:
        return next(iter(described.values()))
    return "; ".join(f"{name}: {knobs}" for name, knobs in described.items())


def _knobs(config: GenerationConfig) -> str:
    knobs = [("temperature", config.temperature, None), ("top_p", config.top_p, 1.0), ("min_p", config.min_p, 0.0),
             ("top_k", config.top_k, None), ("repetition_penalty", config.repetition_penalty, 1.0)]
    return ", ".join(f"{name} {value:g}" for name, value, default in knobs if value is not None and value != default)


def _location(path: Path) -> str:
    """A shipped file as ``promptlab/_data/...`` (the same in every installation, so a run resumes after a
    reinstall; the fingerprint still guards the content), any other file by its absolute path."""
    resolved, shipped = path.resolve(), shipped_data_dir()
    if resolved.is_relative_to(shipped):
        return f"promptlab/_data/{resolved.relative_to(shipped).as_posix()}"
    return str(resolved)
