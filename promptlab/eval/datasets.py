"""Evaluation datasets: GSM8K, SVAMP, GSM-Hard, the MAWPS sets, HotpotQA, or any JSON/JSONL file.

A dataset is a list of :class:`DatasetItem` (id, question, reference answer) and a task that
says how answers are scored: ``"math"`` (numeric, PAL's tolerance) or ``"qa"``
(HotpotQA exact match and F1). Malformed records are skipped with their line number
recorded in :attr:`Dataset.skipped`, or raise :class:`DatasetError` when ``strict``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import re
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from promptlab.errors import ConfigError, DatasetError

__all__ = [
    "ALIASES",
    "DATA_ENV",
    "KNOWN",
    "MAX_DATASET_BYTES",
    "Dataset",
    "DatasetInfo",
    "DatasetItem",
    "Task",
    "dataset_names",
    "load_dataset",
    "shipped_data_dir",
    "user_data_dir",
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

    def shuffled(self, seed: int) -> Dataset:
        """The same items in a random order fixed by ``seed``: its first K items are a random sample of K
        (a file's first items are often easier than the rest), the same on every run and resume."""
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"a shuffle seed must be a whole number, got {seed!r}")
        items = list(self.items)
        random.Random(seed).shuffle(items)
        return replace(self, items=items)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset that ships with promptlab: what it is, where it came from, its licence."""

    name: str
    relpath: str
    """Its upstream file name, relative to the data directory (``gsm8k/test.jsonl``)."""
    task: Task
    items: int
    description: str
    source: str
    licence: str

    @property
    def path(self) -> Path:
        """The compressed copy inside the installed package."""
        return shipped_data_dir() / f"{self.relpath}.gz"


_PAL = "reasoning-machines/pal datasets/"
_MAWPS = "Apache-2.0 (PAL's copy)"
KNOWN: dict[str, DatasetInfo] = {info.name: info for info in (
    DatasetInfo("gsm8k", "gsm8k/test.jsonl", "math", 1319, "GSM8K test: grade-school math word problems",
          "openai/grade-school-math test.jsonl", "MIT"),
    DatasetInfo("gsm8k-train", "gsm8k/train.jsonl", "math", 7473, "GSM8K train",
          "openai/grade-school-math train.jsonl", "MIT"),
    DatasetInfo("svamp", "svamp/SVAMP.json", "math", 1000, "SVAMP: one-step word problems with distractors",
          "arkilpatel/SVAMP SVAMP.json", "MIT"),
    DatasetInfo("gsm-hard", "pal/datasets/gsmhardv2.jsonl", "math", 1319, "GSM-Hard: GSM8K test with large numbers",
          f"{_PAL}gsmhardv2.jsonl", "Apache-2.0 (PAL), MIT (HF card)"),
    DatasetInfo("mawps-multiarith", "pal/datasets/mawpsmultiarith.jsonl", "math", 600, "MAWPS MultiArith: multi-step",
          f"{_PAL}mawpsmultiarith.jsonl", _MAWPS),
    DatasetInfo("mawps-addsub", "pal/datasets/mawpsaddsub.jsonl", "math", 395, "MAWPS AddSub: addition, subtraction",
          f"{_PAL}mawpsaddsub.jsonl", _MAWPS),
    DatasetInfo("mawps-singleeq", "pal/datasets/mawpssingleeq.jsonl", "math", 508, "MAWPS SingleEq: one equation",
          f"{_PAL}mawpssingleeq.jsonl", _MAWPS),
    DatasetInfo("mawps-singleop", "pal/datasets/mawpssingleop.jsonl", "math", 562, "MAWPS SingleOp: one operation",
          f"{_PAL}mawpssingleop.jsonl", _MAWPS),
    DatasetInfo("hotpotqa", "react/hotpot_dev_v1_simplified.json", "qa", 7405, "HotpotQA dev: multi-hop questions",
          "ysymyth/ReAct data/hotpot_dev_v1_simplified.json", "CC BY-SA 4.0"),
)}
"""The datasets shipped inside the package (sources and licences: ``promptlab/_data/LICENSES.md``)."""
ALIASES = {"gsmhard": "gsm-hard", "multiarith": "mawps-multiarith", "addsub": "mawps-addsub",
           "singleeq": "mawps-singleeq", "singleop": "mawps-singleop", "hotpot": "hotpotqa"}
MAX_DATASET_BYTES = 256 * 2**20
"""Largest dataset file read (after decompression)."""

_QUESTION_KEYS = ("question", "input", "Question")
_ANSWER_KEYS = ("answer", "target", "Answer")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def shipped_data_dir() -> Path:
    """Where the datasets shipped with promptlab are: ``promptlab/_data``."""
    return Path(__file__).resolve().parent.parent / "_data"


def user_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """The user's data directory: ``data_dir``, else ``$PROMPTLAB_DATA``, else None."""
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_ENV) or None
    if chosen is None:
        return None
    path = Path(chosen).expanduser()
    if not path.is_dir():
        source = "--data-dir" if data_dir is not None else f"${DATA_ENV}"
        raise DatasetError(f"data directory {str(path)!r} ({source}) does not exist")
    return path


def dataset_names() -> dict[str, str]:
    """Known dataset names and what each one is."""
    return {name: info.description for name, info in KNOWN.items()}


def load_dataset(
    name_or_path: str | Path,
    *,
    data_dir: str | Path | None = None,
    strict: bool = False,
    task: Task | None = None,
) -> Dataset:
    """Load a shipped dataset by name (``gsm8k``, ``svamp``, ``hotpotqa``, ...) or a JSON/JSONL file.

    The user's data directory (``data_dir``, else ``$PROMPTLAB_DATA``) comes first: a
    file there at a known dataset's upstream path (``gsm8k/test.jsonl``) replaces the
    shipped copy, and a relative file name is looked up there before the current
    directory. Files may be gzip-compressed (``.jsonl.gz``). ``task`` overrides how
    answers are scored; for an unknown file it is guessed (``math`` when every reference
    answer is a number).
    """
    base = user_data_dir(data_dir)
    key = str(name_or_path).lower()
    key = ALIASES.get(key, key)
    if key in KNOWN:
        info = KNOWN[key]
        mine = _first_file(base / info.relpath) if base is not None else None
        path = mine or info.path
        name, default_task = key, info.task
        if not path.is_file():
            raise DatasetError(f"the shipped dataset {key!r} is missing from this installation ({str(path)!r}); "
                               "reinstall promptlab")
    else:
        given = Path(name_or_path).expanduser()
        path = (_first_file(base / given) if base is not None and not given.is_absolute() else None) or given
        if not path.is_file():
            names = ", ".join(KNOWN)
            where = f" (nor in {str(base)!r})" if base is not None else ""
            raise DatasetError(f"no dataset named {str(name_or_path)!r} and no such file{where}; known names: {names}")
        name, default_task = _stem(path), None
    raw = _read(path)
    items, skipped = _parse(path, raw.decode("utf-8", errors="replace"), strict)
    if not items:
        raise DatasetError(f"dataset {str(path)!r} holds no usable examples" +
                           (f" ({len(skipped)} malformed, first: {skipped[0]})" if skipped else ""))
    chosen = task or default_task or ("math" if all(_NUMBER.match(e.answer) for e in items) else "qa")
    return Dataset(name=name, path=path, task=chosen, items=items, skipped=skipped,
                   fingerprint=hashlib.sha256(raw).hexdigest())


def _first_file(path: Path) -> Path | None:
    """``path`` or its ``.gz`` twin, whichever exists."""
    return next((p for p in (path, path.with_name(path.name + ".gz")) if p.is_file()), None)


def _stem(path: Path) -> str:
    return path.name.removesuffix(".gz").rsplit(".", 1)[0]


def _read(path: Path) -> bytes:
    """The file's bytes (decompressed for ``.gz``), at most :data:`MAX_DATASET_BYTES`."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                raw = stream.read(MAX_DATASET_BYTES + 1)
        else:
            with path.open("rb") as stream:
                raw = stream.read(MAX_DATASET_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"cannot read dataset {str(path)!r}: {exc}") from None
    if len(raw) > MAX_DATASET_BYTES:
        raise DatasetError(f"dataset {str(path)!r} is larger than {MAX_DATASET_BYTES // 2**20} MiB; split it")
    return raw


def _parse(path: Path, text: str, strict: bool) -> tuple[list[DatasetItem], list[str]]:
    records: list[tuple[int, Any]] = []
    skipped: list[str] = []

    def bad(where: str, why: str) -> None:
        message = f"{where}: {why}"
        if strict:
            raise DatasetError(f"{str(path)!r} {message} (drop --strict to skip malformed records)")
        skipped.append(message)

    lines = path.name.removesuffix(".gz").endswith(".jsonl")
    if lines:
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
    where_kind = "line" if lines else "item"
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
