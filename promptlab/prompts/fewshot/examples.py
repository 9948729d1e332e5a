"""Example: one few-shot demonstration, and loading pools of them from JSONL or YAML."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from promptlab.errors import DatasetError

__all__ = ["Example", "as_examples", "load_examples"]


class Example(BaseModel):
    """A few-shot demonstration. One shape serves CoT, PAL and ReAct pools.

    ``question`` is what a selector compares the query against. ``rationale`` holds a
    chain of thought, ``program`` a PAL program; anything else a template needs (a ReAct
    trajectory, a label, ...) goes in ``extra``, which unknown keys in a file fill too.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    question: str = Field(validation_alias=AliasChoices("question", "input", "query"))
    answer: str | None = Field(None, validation_alias=AliasChoices("answer", "target", "output"))
    rationale: str | None = None
    program: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("answer", mode="before")
    @classmethod
    def _answer_as_text(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return str(value).lower()
        return str(value) if isinstance(value, int | float) else value

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Example:
        """Build from a file record: known keys become fields, the rest goes to ``extra``."""
        fields = {k: v for k, v in record.items() if k in _FIELD_KEYS}
        unknown = {k: v for k, v in record.items() if k not in _FIELD_KEYS}
        if unknown and isinstance(fields.get("extra", {}), dict):
            fields["extra"] = {**fields.get("extra", {}), **unknown}
        return cls.model_validate(fields)


_FIELD_KEYS = frozenset({"question", "input", "query", "answer", "target", "output", "rationale", "program", "extra"})


def load_examples(path: str | Path) -> list[Example]:
    """Read a pool of examples from ``.jsonl`` (one object a line) or ``.yaml``/``.yml``.

    A YAML file holds a list of mappings, or a mapping with an ``examples`` list.
    A malformed record raises :class:`DatasetError` naming the file and line.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"example file {str(source)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"example file {str(source)!r} cannot be read: {exc}") from None
    suffix = source.suffix.lower()
    if suffix == ".jsonl":
        records = list(_jsonl_records(text, source))
    elif suffix in (".yaml", ".yml"):
        records = _yaml_records(text, source)
    else:
        raise DatasetError(f"example file {str(source)!r} must end in .jsonl, .yaml or .yml")
    examples = [_validated(record, line, source) for line, record in records]
    if not examples:
        raise DatasetError(f"example file {str(source)!r} holds no examples")
    return examples


def as_examples(items: Iterable[Example | dict[str, Any]]) -> tuple[Example, ...]:
    """Accept examples or plain dicts (as in a file) and return validated examples."""
    return tuple(item if isinstance(item, Example) else Example.from_record(item) for item in items)


def _jsonl_records(text: str, source: Path) -> Iterable[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{source}:{number}: not valid JSON: {exc.msg} (column {exc.colno})") from None


def _yaml_records(text: str, source: Path) -> list[tuple[int, Any]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else str(source)
        raise DatasetError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    items: Sequence[Any] = data["examples"] if isinstance(data, dict) and "examples" in data else data
    if not isinstance(items, list):
        raise DatasetError(f"{source}: expected a list of examples (or a mapping with an 'examples' list)")
    nodes: list[Any] = _sequence_nodes(root)
    lines = [node.start_mark.line + 1 for node in nodes] if len(nodes) == len(items) else [0] * len(items)
    return list(zip(lines, items, strict=True))


def _sequence_nodes(root: Any) -> list[Any]:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "examples":
                root = value
    return list(root.value) if isinstance(root, yaml.SequenceNode) else []


def _validated(record: Any, line: int, source: Path) -> Example:
    where = f"{source}:{line}" if line else str(source)
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: an example must be a mapping, got {type(record).__name__}")
    try:
        return Example.from_record(record)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'example'}: {e['msg']}" for e in exc.errors())
        raise DatasetError(f"{where}: invalid example: {problems}") from None
