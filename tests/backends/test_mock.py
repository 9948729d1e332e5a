import asyncio
import json
from pathlib import Path

import pytest
from pydantic import BaseModel

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
from promptlab.constraints import Choice, Regex
from promptlab.errors import ConfigError, ConstraintViolationError


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


# ----------------------------------------------------------------------------- constraints
def test_a_scripted_response_outside_the_constraint_raises_naming_both() -> None:
    mock = MockBackend(["maybe"])
    with pytest.raises(ConstraintViolationError, match=r"mock response 'maybe'.*choice of \['yes', 'no'\]") as raised:
        mock.complete("Q", constraint=Choice(options=("yes", "no")))
    assert raised.value.text == "maybe"


def test_a_response_inside_the_constraint_passes_and_a_cut_one_must_still_fit() -> None:
    digits = Regex(pattern=r"[0-9]+( [0-9]+)*")
    assert MockBackend(["1 2 3"]).complete("Q", constraint=digits).text == "1 2 3"
    cut = MockBackend(["1 2 3"]).complete("Q", constraint=digits, max_new_tokens=2)
    assert (cut.text, cut.finish_reason) == ("1 2", "length")
    with pytest.raises(ConstraintViolationError, match="cannot be completed"):
        MockBackend(["1 x 3"]).complete("Q", constraint=digits, max_new_tokens=2)


def test_a_stop_ends_a_constrained_mock_response_only_where_it_matches() -> None:
    completion = MockBackend(["a.b. c"]).complete("Q", constraint=Regex(pattern=r"a\.b"), stop=["."])
    assert (completion.text, completion.stop, completion.finish_reason) == ("a.b", ".", "stop")  # not at "a"


def test_a_constrained_stream_is_checked_before_it_starts() -> None:
    with pytest.raises(ConstraintViolationError):
        MockBackend(["nope"]).stream("Q", constraint=Choice(options=("yes",)))
    assert list(MockBackend(["yes"]).stream("Q", constraint=Choice(options=("yes",)))) == ["yes"]


def test_replayed_completions_are_checked_against_the_constraint(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    config = GenerationConfig(constraint=Choice(options=("yes", "no")))
    with RecordingBackend(MockBackend(["yes"]), path) as recorder:
        recorder.generate("Q", config)
    record = json.loads(path.read_text())
    record["completions"][0]["text"] = "perhaps"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(ConstraintViolationError, match="recorded completion"):
        MockBackend.replay(path).generate("Q", config)


def test_structured_output_on_the_mock() -> None:
    class Point(BaseModel):
        x: int
        y: int

    assert MockBackend(['{"x": 1, "y": 2}']).generate_structured("P", Point).value == Point(x=1, y=2)
    with pytest.raises(ConstraintViolationError, match="cut off at max_new_tokens=3") as cut:
        MockBackend(['{"x": 1, "y": 2}']).generate_structured("P", Point, max_new_tokens=3)
    assert cut.value.text == '{"x'
    with pytest.raises(ConstraintViolationError, match="does not match"):
        MockBackend(['{"x": 1}']).generate_structured("P", Point)


QWEN = (Path(__file__).resolve().parents[1] / "data" / "reference" / "chat_templates" / "official"
        / "qwen2.5-instruct.jinja").read_text(encoding="utf-8")
TOOL_CALL = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "6*7"}}\n</tool_call>'
CALCULATOR = {"type": "function", "function": {"name": "calculator", "parameters": {
    "type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}


def test_chat_calls_tool_calls_and_streams_are_recorded_and_replayed(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    inner = MockBackend([TOOL_CALL, "Forty-two, I think."], default="Hello there, friend.", chat_template=QWEN)
    recorder = RecordingBackend(inner, path)
    assert recorder.tool_calling and recorder.capabilities.streaming
    messages = [{"role": "user", "content": "What is 6*7?"}]
    called = recorder.chat(messages, tools=[CALCULATOR], tool_choice="auto", max_new_tokens=40)
    replied = recorder.chat(messages, max_new_tokens=40)
    streamed = list(recorder.stream_chat(messages, max_new_tokens=3))
    text_stream = list(recorder.stream("Hi", max_new_tokens=5))
    assert called[0].tool_calls[0].arguments == {"expression": "6*7"}
    assert streamed == ["Hello", " there", ","]
    kinds = [json.loads(line).get("kind", "generate") for line in path.read_text(encoding="utf-8").splitlines()]
    assert kinds == ["chat", "chat", "stream_chat", "stream"]

    replay = MockBackend.replay(path)
    assert replay.chat(messages, tools=[CALCULATOR], tool_choice="auto", max_new_tokens=40) == called
    assert replay.chat(messages, max_new_tokens=40) == replied
    assert list(replay.stream_chat(messages, max_new_tokens=3)) == streamed
    assert list(replay.stream("Hi", max_new_tokens=5)) == text_stream
    with pytest.raises(ReplayMissError, match="has no chat reply to 'What is 6\\*7\\?' with this config"):
        replay.chat(messages, tools=[CALCULATOR], tool_choice="required", max_new_tokens=40)
    with pytest.raises(ReplayMissError, match="has no stream of prompt 'Hi'"):
        list(replay.stream("Hi", max_new_tokens=6))


def test_a_stream_read_only_in_part_is_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    stream = RecordingBackend(MockBackend(default="one two three four"), path).stream("Hi")
    assert next(stream) == "one"
    stream.close()
    assert not path.exists()


def test_async_structured_output_on_the_mock() -> None:
    class Point(BaseModel):
        x: int

    async def both() -> tuple[Point, Point]:
        mock = MockBackend(['{"x": 1}', '{"x": 2}'])
        first = await mock.agenerate_structured("P", Point)
        second = await mock.achat_structured([{"role": "user", "content": "P"}], Point)
        return first.value, second.value

    assert asyncio.run(both()) == (Point(x=1), Point(x=2))


def test_token_count_of_edited_and_growing_texts_matches_a_full_scan() -> None:
    mock = MockBackend()
    texts = ["Question: a b", "Question: a bc, d", "Question: a bc, d\n  ", "Question: a bc, d\n  e.",
             "Question: x", "", "Answer:  one two", "Answer:  one two three"]
    for text in texts:
        assert mock.count_tokens(text) == len(mock_tokenize(text)), text


def test_token_count_of_random_edits_matches_a_full_scan() -> None:
    import random

    rng = random.Random(3)
    mock = MockBackend()
    text = ""
    for _ in range(2000):
        cut = rng.randint(0, len(text))
        text = text[:cut] + "".join(rng.choices("ab, \n", k=rng.randint(0, 8)))
        assert mock.count_tokens(text) == len(mock_tokenize(text)), text


def test_the_prompt_history_is_bounded() -> None:
    mock = MockBackend(default="x", max_prompts=3)
    for i in range(5):
        mock.complete(f"p{i}")
    assert mock.prompts == ["p2", "p3", "p4"]
    with pytest.raises(ConfigError, match="max_prompts"):
        MockBackend(max_prompts=0)


def test_the_one_pass_stop_cut_ends_where_a_token_by_token_matcher_does() -> None:
    import random

    from promptlab.backends.mock import _cut_at_stop, _cut_by_matcher
    from promptlab.stopping import StopMatcher

    rng = random.Random(7)
    alphabet = "ab \n:"
    for _ in range(3000):
        tokens = ["".join(rng.choices(alphabet, k=rng.randint(1, 3))) for _ in range(rng.randint(0, 12))]
        stops = ["".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(rng.randint(1, 3))]
        assert _cut_at_stop(tokens, stops) == _cut_by_matcher(tokens, StopMatcher(stops)), (tokens, stops)


def test_a_config_accepted_once_is_still_refused_after_the_capabilities_shrink() -> None:
    from promptlab.backends.base import Capabilities
    from promptlab.errors import UnsupportedKnobError

    backend = MockBackend(default="x")
    backend.generate("p", top_k=5)
    backend.generate("p", top_k=5)
    backend.capabilities = Capabilities(knobs=frozenset({"max_new_tokens"}))
    with pytest.raises(UnsupportedKnobError, match="top_k"):
        backend.generate("p", top_k=5)
