"""The evaluation directory: its config, the results checkpoint and the traces, append-only.

Layout of ``DIR``::

    eval.json       what was evaluated (dataset, strategy, backend, options)
    results.jsonl   one ItemResult a line, appended and flushed as each item finishes
    traces.jsonl    each item's whole trace, appended in one write when it finishes

    .lock           held (``fcntl.flock``) while a run writes here: a second run is refused

A rerun with the same config resumes: items already in ``results.jsonl`` are skipped.
A different config is refused unless the caller asks to start over (``force``), which
deletes only the files ``eval.json`` lists as written by the evaluation, and refuses a
directory holding anything else.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from promptlab import safe_json
from promptlab.errors import ConfigError
from promptlab.tracing import Trace, json_line, write_trace

__all__ = [
    "CONFIG_FILE",
    "RESULTS_FILE",
    "TRACES_FILE",
    "Checkpoint",
    "EvalConfig",
    "ItemResult",
    "load_config",
    "load_results",
]

CONFIG_FILE = "eval.json"
RESULTS_FILE = "results.jsonl"
TRACES_FILE = "traces.jsonl"
LOCK_FILE = ".lock"
WRITTEN = (RESULTS_FILE, TRACES_FILE, "report.md", "report.html")
"""The files an evaluation writes besides eval.json and the lock; eval.json lists them under ``"files"``."""


class EvalConfig(BaseModel):
    """What an evaluation directory holds results of; a resumed run must match it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str
    dataset_path: str
    fingerprint: str
    task: str
    strategy: str
    backend: str
    n: int = 1
    shuffle: int | None = None
    """The seed of the random order the items run in (``--shuffle``); None: the file's order."""
    options: dict[str, Any] = Field(default_factory=dict)
    plan: str | None = None
    """How the runner draws its votes, defaults included (greedy vote, adaptive rule): a resumed run
    under changed defaults is refused. None in directories written before it was recorded."""
    sampling: str | None = None
    """The knobs the runner samples with, defaults included (``"temperature 0.5"``); ``""`` when it
    draws no samples. None in directories written before it was recorded."""
    checks_arithmetic: bool | None = None
    """Whether CoT answers go through the arithmetic check (CoT and the hybrid); None for strategies
    without rationales, and in directories written before it was recorded."""
    ungrounded_weight: float | None = None
    """What a CoT vote counts when its rationale did not compute the answer from the question's numbers
    (CoT and the hybrid with ``n > 1``); None without such votes, and in directories written before it was
    recorded."""
    lead: str | None = None
    """Which runner's answer leads the hybrid's vote (``"cot"`` or ``"pal"``); None for other strategies,
    and in directories written before it was recorded (PAL led then)."""


_OPTIONS_BEFORE_THEIR_FIELDS: tuple[tuple[str, str, object], ...] = (
    ("checks_arithmetic", "check_arithmetic", False), ("ungrounded_weight", "ungrounded_weight", 1),
    ("lead", "lead", "pal"))
"""(field, runner option, the option's value before the field was recorded): what an older directory ran with."""


class ItemResult(BaseModel):
    """The outcome of one dataset item, as checkpointed."""

    model_config = ConfigDict(extra="ignore")

    id: str
    question: str
    reference: str
    prediction: str | None
    status: str
    """The runner's status ("ok", "no_answer", ...), or "error" when it raised."""
    correct: bool
    f1: float | None = None
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    steps: int = 0
    agreement: float | None = None
    samples: int = 1
    """Samples drawn and voted over (self-consistency; adaptive runs may stop early)."""
    detail: str | None = None
    """The runner's explanation: why there is no answer, or how a tied vote was broken."""
    error: str | None = None


class Checkpoint:
    """An evaluation directory opened for appending results."""

    def __init__(self, directory: Path, config: EvalConfig, lock: IO[str] | None = None) -> None:
        self.directory = directory
        self.config = config
        self._lock = lock
        self._results: dict[str, ItemResult] = _read_results(directory / RESULTS_FILE)
        self._results_sink: IO[str] | None = None
        self._traces_sink: IO[str] | None = None

    @classmethod
    def open(cls, directory: str | Path, config: EvalConfig, *, force: bool = False) -> Checkpoint:
        """Create ``directory`` or resume it; refuse one holding a different evaluation.

        The directory stays locked until :meth:`close`: another run on it raises :class:`ConfigError`.
        """
        path = Path(directory)
        config_path = path / CONFIG_FILE
        if path.exists() and not path.is_dir():
            raise ConfigError(f"--out {str(path)!r} is a file, not a directory")
        if path.is_dir() and not config_path.exists() and any(p.name != LOCK_FILE for p in path.iterdir()):
            raise ConfigError(f"{str(path)!r} exists and is not an evaluation directory (no {CONFIG_FILE}); "
                              "choose an empty or new --out")
        path.mkdir(parents=True, exist_ok=True)
        lock = _lock(path)
        try:
            cls._prepare(path, config, force)
        except BaseException:
            lock.close()
            raise
        return cls(path, config, lock)

    @staticmethod
    def _prepare(path: Path, config: EvalConfig, force: bool) -> None:
        config_path = path / CONFIG_FILE
        if force and config_path.exists():
            written = _written_files(path)
            foreign = sorted(p.name for p in path.iterdir() if p.name not in (CONFIG_FILE, LOCK_FILE, *written))
            if foreign:
                raise ConfigError(f"--force refused: {str(path)!r} holds files the evaluation did not write "
                                  f"({', '.join(foreign[:5])}); move them away or choose another --out")
            for name in written:
                (path / name).unlink(missing_ok=True)
        elif config_path.exists():
            previous = load_config(path)
            for field, option, before in _OPTIONS_BEFORE_THEIR_FIELDS:
                if getattr(previous, field) is None and option in config.options and config.options[option] == before:
                    # written before the option existed, i.e. as it behaved then: resuming so matches
                    previous = previous.model_copy(update={"options": {**previous.options, option: before}})
            unrecorded = ("plan", "sampling", "checks_arithmetic", "ungrounded_weight", "lead")  # None: older
            differences = [f"{key}: {getattr(previous, key)!r} there, {getattr(config, key)!r} now"
                           for key in EvalConfig.model_fields if getattr(previous, key) != getattr(config, key)
                           and not (key in unrecorded and getattr(previous, key) is None)]
            if previous.sampling is None and config.sampling and "temperature" not in config.options:
                differences.append(f"sampling: not recorded there (written under older sampling defaults), "
                                   f"{config.sampling!r} now")
            if previous.checks_arithmetic is None and config.checks_arithmetic:
                differences.append("checks_arithmetic: not recorded there (written before CoT checked its "
                                   "arithmetic by default), True now; pass -O check_arithmetic=false to resume it")
            if previous.ungrounded_weight is None and config.ungrounded_weight not in (None, 1.0):
                differences.append(f"ungrounded_weight: not recorded there (written before CoT weighed its votes), "
                                   f"{config.ungrounded_weight:g} now; pass -O ungrounded_weight=1 to resume it")
            if previous.shuffle != config.shuffle:
                order = "the file's order" if previous.shuffle is None else f"--shuffle {previous.shuffle}"
                differences.append(f"its items ran in {order}; pass the same to resume it")
            if previous.lead is None and config.lead not in (None, "pal"):
                differences.append(f"lead: not recorded there (written when PAL led the hybrid's vote), "
                                   f"{config.lead!r} now; pass -O lead=pal to resume it")
            if differences:
                raise ConfigError(
                    f"{str(path)!r} holds an evaluation with a different config ({'; '.join(differences)}); "
                    "choose another --out, or pass --force to discard its results and start over"
                )
        record = {**config.model_dump(mode="json"), "files": list(WRITTEN)}
        config_path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for name in (RESULTS_FILE, TRACES_FILE):
            _drop_torn_tail(path / name)

    @property
    def results(self) -> list[ItemResult]:
        """Every checkpointed result, the latest one per item id."""
        return list(self._results.values())

    def finished_ids(self, *, retry_errors: bool = False) -> set[str]:
        """Ids of items that need no rerun (``retry_errors``: items that raised count as unfinished)."""
        return {r.id for r in self._results.values() if not (retry_errors and r.status == "error")}

    def append(self, result: ItemResult, trace: Trace) -> None:
        """Checkpoint one finished item: its trace first, then its result (each flushed)."""
        if self._results_sink is None or self._traces_sink is None:
            self._traces_sink = (self.directory / TRACES_FILE).open("a", encoding="utf-8")
            self._results_sink = (self.directory / RESULTS_FILE).open("a", encoding="utf-8")
        write_trace(trace, self._traces_sink)
        self._results_sink.write(json_line(result.model_dump(mode="json")))
        self._results_sink.flush()
        self._results[result.id] = result

    def close(self) -> None:
        """Close the files and release the directory's lock."""
        for sink in (self._results_sink, self._traces_sink):
            if sink is not None:
                sink.close()
        self._results_sink = self._traces_sink = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_config(directory: str | Path) -> EvalConfig:
    """The config of an evaluation directory."""
    data = _config_record(Path(directory))
    data.pop("files", None)
    try:
        return EvalConfig.model_validate(data)
    except ValidationError as exc:
        path = Path(directory) / CONFIG_FILE
        raise ConfigError(f"{str(path)!r} is not a valid evaluation config: {exc.errors()[0]['msg']}") from None


def _config_record(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILE
    try:
        data = safe_json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{str(directory)!r} is not an evaluation directory (no {CONFIG_FILE})") from None
    except safe_json.JsonLimitError as exc:
        raise ConfigError(f"{str(path)!r} is not a valid evaluation config: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{str(path)!r} is not a valid evaluation config: not a JSON object")
    return data


def _written_files(directory: Path) -> list[str]:
    """The files eval.json says the evaluation wrote (plain names inside the directory only)."""
    files = _config_record(directory).get("files", list(WRITTEN))
    if not isinstance(files, list):
        return []
    return [name for name in files if isinstance(name, str) and name == Path(name).name and name not in ("", ".", "..")]


def _lock(directory: Path) -> IO[str]:
    """Hold an exclusive ``flock`` on ``DIR/.lock``; refuse when another process holds it."""
    handle = (directory / LOCK_FILE).open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigError(f"{str(directory)!r} is in use by another evaluation ({holder}); "
                          "wait for it to finish or choose another --out") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


def load_results(directory: str | Path) -> list[ItemResult]:
    """The checkpointed results of an evaluation directory (latest per item id)."""
    return list(_read_results(Path(directory) / RESULTS_FILE).values())


def _read_results(path: Path) -> dict[str, ItemResult]:
    results: dict[str, ItemResult] = {}
    if not path.exists():
        return results
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            result = ItemResult.model_validate(safe_json.loads(line))
        except (safe_json.JsonLimitError, ValidationError):
            continue  # a line torn by a crash: that item simply runs again
        results[result.id] = result
    return results


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line left without its newline by a crash, so appends start on a fresh line."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
