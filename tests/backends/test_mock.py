import asyncio
import json
from pathlib import Path

import pytest

from promptlab import (
    BackendError,
    BackendSpecError,
    GenerationConfig,
    MockBackend,
    RecordingBackend,
    ReplayMissError,
    UnsupportedKnobError,
)
from promptlab.backends.base import Capabilities
from promptlab.backends.mock import mock_tokenize


def test_tokenizer_round_trips_text() -> None:
    text = "Hello,  world!\n\nIt's 3.5 apples "
    assert "".join(mock_tokenize(text)) == text
    assert len(mock_tokenize("a b c")) == 3


def test_scripted_responses_in_order_then_a_clear_error() -> None:
    mock = MockBackend(["one", "two"])
    assert mock.complete("p").text == "one"
    assert mock.complete("p").text == "two"
    with pytest.raises(BackendError, match="used up"):
        mock.complete("p")


def test_rules_match_the_prompt_and_may_be_callables() -> None:
    mock = MockBackend(rules=[(r"France", "Paris"), (r"echo (\w+)", lambda p: p.upper())])
    assert mock.complete("capital of France?").text == "Paris"
    assert mock.complete("echo me").text == "ECHO ME"
    assert mock.prompts == ["capital of France?", "echo me"]


def test_stop_sequences_are_trimmed_and_reported() -> None:
    mock = MockBackend(["Thought: go\nAction: search[x]\nObservation: fake"])
    completion = mock.complete("q", stop=["\nObservation"])
    assert completion.text == "Thought: go\nAction: search[x]"
    assert completion.finish_reason == "stop"
    assert completion.stop == "\nObservation"


def test_max_new_tokens_truncates_with_length() -> None:
    completion = MockBackend(["one two three four"]).complete("q", max_new_tokens=2)
    assert completion.text == "one two"
    assert completion.finish_reason == "length"
    assert completion.usage.completion_tokens == 2


def test_eos_when_the_response_ends() -> None:
    completion = MockBackend(["done"]).complete("a b", max_new_tokens=5)
    assert completion.finish_reason == "eos"
    assert completion.usage.prompt_tokens == 2


def test_n_samples() -> None:
    mock = MockBackend(default="x")
    assert len(mock.generate("q", n=3, temperature=0.7)) == 3


def test_batch_returns_one_list_per_prompt() -> None:
    mock = MockBackend(rules=[(r"a", "A"), (r"b", "B")])
    assert [[c.text for c in cs] for cs in mock.generate_batch(["a", "b"])] == [["A"], ["B"]]


def test_async_variants_share_the_implementation() -> None:
    mock = MockBackend(rules=[(r"a", "A"), (r"b", "B")])
    result = asyncio.run(mock.agenerate_batch(["a", "b"], max_new_tokens=3))
    assert [r[0].text for r in result] == ["A", "B"]
    assert asyncio.run(mock.achat([{"role": "user", "content": "a"}]))[0].text == "A"


def test_chat_uses_the_chat_template() -> None:
    mock = MockBackend(default="hi")
    mock.chat([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert mock.prompts[0] == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"


def test_streaming_holds_back_partial_stops() -> None:
    chunks = list(MockBackend(["a b\nObservation c"]).stream("q", stop=["\nObservation"]))
    assert "".join(chunks) == "a b"
    assert len(chunks) >= 2


def test_unsupported_knob_names_backend_and_knob() -> None:
    class NoBeams(MockBackend):
        capabilities = Capabilities(knobs=frozenset({"max_new_tokens", "stop"}), notes={"num_beams": "use n"})

    with pytest.raises(UnsupportedKnobError, match=r"'mock' does not support 'num_beams': use n"):
        NoBeams(default="x").generate("q", num_beams=2)


def test_record_then_replay_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    config = GenerationConfig(max_new_tokens=4, stop=["."])
    recorder = RecordingBackend(MockBackend(["Paris. More", "Rome is big"]), path)
    first = recorder.generate("capital of France?", config)
    second = recorder.generate("capital of Italy?", config)
    replay = MockBackend.replay(path)
    assert replay.generate("capital of Italy?", config) == second
    assert replay.generate("capital of France?", config) == first
    with pytest.raises(ReplayMissError, match="no completion for prompt"):
        replay.generate("capital of France?", config.with_overrides(max_new_tokens=5))


def test_from_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BackendSpecError, match="not valid JSON"):
        MockBackend.from_file(bad)
    bad.write_text(json.dumps({"a": 1}))
    with pytest.raises(BackendSpecError, match="list of strings"):
        MockBackend.from_file(bad)
    with pytest.raises(BackendSpecError, match="does not exist"):
        MockBackend.from_file(tmp_path / "missing.json")


def test_malformed_recording_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text('{"key": "k", "completions": []}\n{broken\n')
    with pytest.raises(BackendSpecError, match="line 2"):
        MockBackend.replay(path)
