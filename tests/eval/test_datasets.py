import gzip
import json
from pathlib import Path

import pytest

from promptlab.errors import ConfigError, DatasetError
from promptlab.eval import datasets
from promptlab.eval.datasets import KNOWN, load_dataset, shipped_data_dir

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"


def _records(path: Path) -> list[dict[str, object]]:
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    if path.name.endswith(".jsonl.gz"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    records: list[dict[str, object]] = json.loads(text)
    return records


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_every_known_dataset_ships_in_the_package_and_loads_completely(name: str) -> None:
    info = KNOWN[name]
    assert info.path.is_relative_to(shipped_data_dir()) and info.path.is_file()
    data = load_dataset(name)
    assert data.path == info.path
    assert len(data) == len(_records(info.path)) == info.items
    assert data.skipped == []
    assert data.task == KNOWN[name].task
    assert len({e.id for e in data.items}) == len(data)
    assert all(e.question and e.answer for e in data.items)


def test_gsm8k_answers_are_the_number_after_hashes_without_commas() -> None:
    data = load_dataset("gsm8k")
    assert data.items[0].answer == "18"
    assert all("," not in e.answer and "#" not in e.answer for e in data.items)
    raw = _records(KNOWN["gsm8k"].path)
    with_commas = [r for r in raw if "," in str(r["answer"]).rsplit("####", 1)[1]]
    assert with_commas, "GSM8K test has answers with thousands separators"
    by_question = {e.question: e.answer for e in data.items}
    for record in with_commas:
        final = str(record["answer"]).rsplit("####", 1)[1]
        assert by_question[str(record["question"])] == final.strip().replace(",", "")


def test_svamp_questions_match_pals_copy() -> None:
    """SOURCES.md: PAL's svamp.jsonl is SVAMP.json with body and question joined; our join must agree."""
    svamp = load_dataset("svamp")
    pal = _records(REFERENCE / "pal" / "datasets" / "svamp.jsonl.gz")
    assert [e.question for e in svamp.items] == [p["input"] for p in pal]
    assert [float(e.answer) for e in svamp.items] == [p["target"] for p in pal]
    assert svamp.items[0].id == "chal-1"


def test_hotpotqa_is_scored_as_qa_with_types() -> None:
    data = load_dataset("hotpot")
    assert data.name == "hotpotqa" and data.task == "qa"
    assert data.items[0].answer == "yes"
    assert data.items[0].metadata["type"] == "comparison"


def test_a_jsonl_file_with_malformed_lines_skips_them_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text('{"question": "1+1?", "answer": "2"}\n'
                    "{not json\n"
                    "\n"
                    '{"question": "2+2?"}\n'
                    '["a list"]\n'
                    '{"input": "3+3?", "target": 6.0}\n', encoding="utf-8")
    data = load_dataset(path)
    assert [e.answer for e in data.items] == ["2", "6"]
    assert [m.split(":")[0] for m in data.skipped] == ["line 2", "line 4", "line 5"]
    assert "not valid JSON" in data.skipped[0] and "no answer" in data.skipped[1]
    assert data.task == "math" and data.name == "mine"


def test_strict_stops_at_the_first_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text('{"question": "q", "answer": "a"}\n{oops\n{"question": "r", "answer": "b"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="line 2: not valid JSON"):
        load_dataset(path, strict=True)


def test_duplicate_ids_are_malformed(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text(json.dumps([{"id": "a", "question": "q", "answer": "x"},
                                {"id": "a", "question": "r", "answer": "y"}]), encoding="utf-8")
    data = load_dataset(path)
    assert len(data) == 1 and data.skipped == ["item 2: duplicate id 'a'"]
    assert data.task == "qa"


@pytest.mark.parametrize(("content", "message"), [
    ("", "no usable examples"),
    ('{"question": "q"}\n', "no usable examples"),
])
def test_unusable_files_raise(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_a_json_file_that_is_not_a_list_raises(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"question": "q"}', encoding="utf-8")
    with pytest.raises(DatasetError, match="JSON list"):
        load_dataset(path)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(DatasetError, match="gsm8k"):
        load_dataset("no-such-dataset")


def test_the_data_directory_overrides_a_shipped_file_and_holds_user_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text('{"question": "q", "answer": "r\\n#### 1,000"}\n')
    (tmp_path / "mine.jsonl.gz").write_bytes(gzip.compress(b'{"question": "1+1?", "answer": "2"}\n'))
    assert load_dataset("gsm8k", data_dir=tmp_path).items[0].answer == "1000"
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path))
    assert load_dataset("gsm8k").path == tmp_path / "gsm8k" / "test.jsonl"
    mine = load_dataset("mine.jsonl.gz")
    assert mine.name == "mine" and mine.items[0].answer == "2" and mine.task == "math"
    assert load_dataset("svamp").path == KNOWN["svamp"].path  # not in the user's directory: the shipped copy
    monkeypatch.setenv("PROMPTLAB_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match=r"nowhere.*PROMPTLAB_DATA.*does not exist"):
        load_dataset("gsm8k")


def test_no_parent_directory_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A "shared" data folder near the working directory is not data: only the package and the user's directory."""
    data = tmp_path / "shared" / "data" / "gsm8k"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text('{"question": "q", "answer": "1"}\n')
    (tmp_path / "shared" / "data" / "SOURCES.md").write_text("")
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    monkeypatch.delenv("PROMPTLAB_DATA", raising=False)
    assert load_dataset("gsm8k").path == KNOWN["gsm8k"].path


def test_a_corrupt_or_oversized_file_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match=r"cannot read dataset .*broken\.jsonl\.gz"):
        load_dataset(broken)
    big = tmp_path / "big.jsonl"
    big.write_text('{"question": "q", "answer": "1"}\n' * 10)
    monkeypatch.setattr(datasets, "MAX_DATASET_BYTES", 100)
    with pytest.raises(DatasetError, match="larger than"):
        load_dataset(big)


def test_a_shuffled_dataset_holds_the_same_items_in_an_order_fixed_by_the_seed() -> None:
    data = load_dataset("mawps-singleop")
    order = [item.id for item in data.shuffled(0).items]
    assert sorted(order) == sorted(item.id for item in data.items) and order != [item.id for item in data.items]
    assert order == [item.id for item in data.shuffled(0).items], "the same seed, the same order"
    assert order != [item.id for item in data.shuffled(1).items]
    assert data.shuffled(0).fingerprint == data.fingerprint, "the file's content is the same"
    assert [item.id for item in data.items[:3]] == ["0", "1", "2"], "the loaded dataset is left as it was"


@pytest.mark.parametrize("seed", ["0", 1.5, True, None])
def test_a_shuffle_seed_must_be_a_whole_number(seed: object) -> None:
    with pytest.raises(ConfigError, match="shuffle seed must be a whole number"):
        load_dataset("mawps-singleop").shuffled(seed)  # type: ignore[arg-type]
