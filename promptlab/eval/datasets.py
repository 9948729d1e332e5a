"""Evaluation datasets: GSM8K, SVAMP, GSM-Hard, the MAWPS sets, HotpotQA, or any JSON/JSONL file.

A dataset is a list of :class:`DatasetItem` (id, question, reference answer) and a task that
says how answers are scored: ``"math"`` (numeric, PAL's tolerance) or ``"qa"``
(HotpotQA exact match and F1). Malformed records are skipped with their line number
recorded in :attr:`Dataset.skipped`, or raise :class:`DatasetError` when ``strict``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from promptlab.errors import DatasetError

__all__ = [
    "ALIASES",
    "DATA_ENV",
    "KNOWN",
    "Dataset",
    "DatasetItem",
    "Task",
    "dataset_names",
    "find_data_dir",
    "load_dataset",
]

Task = Literal["math", "qa"]
DATA_ENV = "PROMPTLAB_DATA"


class DatasetItem(BaseModel):
    """One evaluation item: a question and its reference answer."""

    model_config = ConfigDict(frozen=True)

    id: str
    question: str
    answer: str
    metadata: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    """The items of one dataset file, how to score them, and what was skipped."""

    name: str
    path: Path
    task: Task
    items: list[DatasetItem]
    skipped: list[str]
    """One ``"line N: why"`` message per malformed record that was left out."""
    fingerprint: str
    """SHA-256 of the file, so a resumed evaluation can tell the data changed."""

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class _Known:
    relpath: str
    task: Task
    description: str


KNOWN: dict[str, _Known] = {
    "gsm8k": _Known("gsm8k/test.jsonl", "math", "GSM8K test, 1,319 grade-school math problems"),
    "gsm8k-train": _Known("gsm8k/train.jsonl", "math", "GSM8K train, 7,473 problems"),
    "svamp": _Known("svamp/SVAMP.json", "math", "SVAMP, 1,000 one-step word problems with distractors"),
    "gsm-hard": _Known("pal/datasets/gsmhardv2.jsonl", "math", "GSM-Hard: GSM8K with large numbers"),
    "mawps-multiarith": _Known("pal/datasets/mawpsmultiarith.jsonl", "math", "MAWPS MultiArith, 600 items"),
    "mawps-addsub": _Known("pal/datasets/mawpsaddsub.jsonl", "math", "MAWPS AddSub, 395 items"),
    "mawps-singleeq": _Known("pal/datasets/mawpssingleeq.jsonl", "math", "MAWPS SingleEq, 508 items"),
    "mawps-singleop": _Known("pal/datasets/mawpssingleop.jsonl", "math", "MAWPS SingleOp, 562 items"),
    "hotpotqa": _Known("react/hotpot_dev_v1_simplified.json", "qa", "HotpotQA dev, 7,405 multi-hop questions"),
}
ALIASES = {"gsmhard": "gsm-hard", "multiarith": "mawps-multiarith", "addsub": "mawps-addsub",
           "singleeq": "mawps-singleeq", "singleop": "mawps-singleop", "hotpot": "hotpotqa"}

_QUESTION_KEYS = ("question", "input", "Question")
_ANSWER_KEYS = ("answer", "target", "Answer")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def find_data_dir(data_dir: str | Path | None = None) -> Path:
    """The shared data directory: ``data_dir``, ``$PROMPTLAB_DATA``, or ``shared/data`` beside the repo."""
    if data_dir is not None or os.environ.get(DATA_ENV):
        chosen = Path(data_dir if data_dir is not None else os.environ[DATA_ENV]).expanduser()
        if not chosen.is_dir():
            raise DatasetError(f"data directory {str(chosen)!r} does not exist")
        return chosen
    repo = Path(__file__).resolve().parents[2]
    for base in (Path.cwd(), *Path.cwd().parents[:2], repo, repo.parent):
        for candidate in (base / "shared" / "data", base / "data"):
            if (candidate / "SOURCES.md").is_file():
                return candidate
    raise DatasetError(
        f"cannot find the shared data directory (looked for shared/data near {str(Path.cwd())!r} "
        f"and {str(repo)!r}); pass --data-dir or set {DATA_ENV}"
    )


def dataset_names() -> dict[str, str]:
    """Known dataset names and what each one is."""
    return {name: known.description for name, known in KNOWN.items()}


def load_dataset(
    name_or_path: str | Path,
    *,
    data_dir: str | Path | None = None,
    strict: bool = False,
    task: Task | None = None,
) -> Dataset:
    """Load a known dataset by name (``gsm8k``, ``svamp``, ``hotpotqa``, ...) or a JSON/JSONL file.

    ``task`` overrides how answers are scored; for an unknown file it is guessed
    (``math`` when every reference answer is a number).
    """
    key = str(name_or_path).lower()
    key = ALIASES.get(key, key)
    if key in KNOWN:
        known = KNOWN[key]
        path = find_data_dir(data_dir) / known.relpath
        name, default_task = key, known.task
        if not path.is_file():
            raise DatasetError(f"dataset {key!r} should be at {str(path)!r} but that file is missing")
    else:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            names = ", ".join(KNOWN)
            raise DatasetError(f"no dataset named {str(name_or_path)!r} and no such file; known names: {names}")
        name, default_task = path.stem, None
    raw = path.read_bytes()
    items, skipped = _parse(path, raw.decode("utf-8", errors="replace"), strict)
    if not items:
        raise DatasetError(f"dataset {str(path)!r} holds no usable examples" +
                           (f" ({len(skipped)} malformed, first: {skipped[0]})" if skipped else ""))
    chosen = task or default_task or ("math" if all(_NUMBER.match(e.answer) for e in items) else "qa")
    return Dataset(name=name, path=path, task=chosen, items=items, skipped=skipped,
                   fingerprint=hashlib.sha256(raw).hexdigest())


def _parse(path: Path, text: str, strict: bool) -> tuple[list[DatasetItem], list[str]]:
    records: list[tuple[int, Any]] = []
    skipped: list[str] = []

    def bad(where: str, why: str) -> None:
        message = f"{where}: {why}"
        if strict:
            raise DatasetError(f"{str(path)!r} {message} (drop --strict to skip malformed records)")
        skipped.append(message)

    if path.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                bad(f"line {number}", f"not valid JSON ({exc.msg})")
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{str(path)!r} is not valid JSON: line {exc.lineno}: {exc.msg}") from None
        if not isinstance(data, list):
            raise DatasetError(f"{str(path)!r} must hold a JSON list of objects (or be a .jsonl file)")
        records = list(enumerate(data, start=1))
    items: list[DatasetItem] = []
    where_kind = "line" if path.suffix == ".jsonl" else "item"
    seen: set[str] = set()
    for number, record in records:
        try:
            item = _item(record, number)
            if item.id in seen:
                raise ValueError(f"duplicate id {item.id!r}")
        except ValueError as exc:
            bad(f"{where_kind} {number}", str(exc))
            continue
        seen.add(item.id)
        items.append(item)
    return items, skipped


def _item(record: Any, number: int) -> DatasetItem:
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    question = _field(record, _QUESTION_KEYS, "question")
    if "Body" in record:  # SVAMP: the body, then the question (SOURCES.md's joining rule)
        body = str(record["Body"]).strip()
        question = f"{body} {question}" if body.endswith((".", "?", "!")) else f"{body}. {question}"
    answer = _field(record, _ANSWER_KEYS, "answer")
    if "####" in answer:  # GSM8K: reasoning lines, then "#### <final>"
        answer = answer.rsplit("####", 1)[1].strip().replace(",", "")
    ident = record.get("ID", record.get("id", record.get("_id", number - 1)))
    extra = {k: v for k, v in record.items() if k in ("type", "Type", "Equation")}
    return DatasetItem(id=str(ident), question=question, answer=answer, metadata=extra)


def _field(record: dict[str, Any], keys: tuple[str, ...], what: str) -> str:
    for key in keys:
        value = record.get(key)
        if isinstance(value, bool):
            break
        if isinstance(value, (str, int, float)):
            text = _number_text(value) if isinstance(value, float) else str(value).strip()
            if text:
                return text
    raise ValueError(f"no {what} (expected a non-empty field named one of {', '.join(keys)})")


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
