"""Example pools: loading JSONL and YAML, field aliases, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptlab.errors import DatasetError
from promptlab.prompts.fewshot import Example, as_examples, load_examples


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_pool_with_aliases_and_extra_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "pool.jsonl", '{"input": "2+2?", "target": 4, "trajectory": "Thought 1: add"}\n\n'
                                         '{"question": "Capital?", "answer": "Paris", "rationale": "It is."}\n')
    first, second = load_examples(path)
    assert first.question == "2+2?"
    assert first.answer == "4"  # numbers become text
    assert first.extra == {"trajectory": "Thought 1: add"}
    assert second.rationale == "It is."


def test_yaml_pool_as_list_or_under_examples_key(tmp_path: Path) -> None:
    listed = write(tmp_path, "a.yaml",
                   "- question: q1\n  answer: a1\n- question: q2\n  program: 'def solution(): pass'\n")
    keyed = write(tmp_path, "b.yml", "examples:\n  - {question: q1, answer: 1}\n")
    assert [e.question for e in load_examples(listed)] == ["q1", "q2"]
    assert load_examples(listed)[1].program == "def solution(): pass"
    assert load_examples(keyed) == [Example(question="q1", answer="1")]


def test_malformed_jsonl_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.jsonl", '{"question": "ok"}\n{"question": \n')
    with pytest.raises(DatasetError, match=r"bad\.jsonl:2: not valid JSON"):
        load_examples(path)


def test_invalid_record_names_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.jsonl", '{"question": "ok"}\n\n{"answer": "no question"}\n')
    with pytest.raises(DatasetError, match=r"bad\.jsonl:3: invalid example: question"):
        load_examples(path)


def test_yaml_errors_name_the_line(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.yaml", "- question: q1\n- question: [unclosed\n")
    with pytest.raises(DatasetError, match=r"broken\.yaml:\d+: not valid YAML"):
        load_examples(broken)
    not_mapping = write(tmp_path, "items.yaml", "- question: q1\n- just a string\n")
    with pytest.raises(DatasetError, match=r"items\.yaml:2: an example must be a mapping"):
        load_examples(not_mapping)


@pytest.mark.parametrize(("name", "text", "message"), [
    ("missing.jsonl", None, "does not exist"),
    ("pool.csv", "a,b", "must end in .jsonl, .yaml or .yml"),
    ("empty.jsonl", "\n", "holds no examples"),
    ("scalar.yaml", "42", "expected a list of examples"),
])
def test_unusable_files(tmp_path: Path, name: str, text: str | None, message: str) -> None:
    path = tmp_path / name if text is None else write(tmp_path, name, text)
    with pytest.raises(DatasetError, match=message):
        load_examples(path)


def test_as_examples_accepts_dicts_and_examples() -> None:
    pool = as_examples([{"question": "a", "label": "x"}, Example(question="b")])
    assert [e.question for e in pool] == ["a", "b"]
    assert pool[0].extra == {"label": "x"}
