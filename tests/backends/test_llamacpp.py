"""LlamaCppBackend specifics: loading errors, context limits, prefix reuse, parity with Llama.__call__."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_cpp import Llama
from pydantic import BaseModel, Field

from promptlab.backends._gguf import gguf_architecture
from promptlab.backends.embedded import embedded_model_path
from promptlab.backends.llamacpp import LlamaCppBackend, default_threads
from promptlab.constraints import Choice, Grammar, JsonSchema, Regex
from promptlab.errors import (
    ConstraintViolationError,
    ContextLengthError,
    ModelLoadError,
    UnsupportedKnobError,
)

PROMPT = "Question: What is the capital of France?\nAnswer: The capital"


def _gguf_with_architecture(path: Path, architecture: str) -> Path:
    def string(value: str) -> bytes:
        return struct.pack("<Q", len(value)) + value.encode()

    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + string("general.architecture") + struct.pack("<I", 8)
    path.write_bytes(header + string(architecture))
    return path


def test_missing_model_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelLoadError, match=r"nope.gguf.*does not exist"):
        LlamaCppBackend(missing)


def test_a_file_that_is_not_gguf_is_reported_corrupt(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("this is not a model")
    with pytest.raises(ModelLoadError, match=r"model.gguf.*not a GGUF file"):
        LlamaCppBackend(fake)


def test_a_truncated_gguf_is_reported_corrupt(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.gguf"
    with embedded_model_path().open("rb") as source:
        truncated.write_bytes(source.read(300))
    with pytest.raises(ModelLoadError, match=r"truncated.gguf.*corrupt"):
        LlamaCppBackend(truncated)


def test_an_unsupported_architecture_is_named(tmp_path: Path) -> None:
    model = _gguf_with_architecture(tmp_path / "alien.gguf", "alien-arch")
    assert gguf_architecture(model) == "alien-arch"
    with pytest.raises(ModelLoadError, match=r"alien.gguf.*'alien-arch'"):
        LlamaCppBackend(model)


def test_the_embedded_model_is_a_llama_gguf() -> None:
    assert gguf_architecture(embedded_model_path()) == "llama"


@pytest.mark.slow
def test_beam_search_is_rejected_with_a_hint(llamacpp_backend: LlamaCppBackend) -> None:
    with pytest.raises(UnsupportedKnobError, match=r"num_beams.*hf backend"):
        llamacpp_backend.generate(PROMPT, num_beams=2)


@pytest.mark.slow
def test_a_prompt_longer_than_the_context_raises(llamacpp_backend: LlamaCppBackend) -> None:
    with pytest.raises(ContextLengthError, match=f"context window holds {llamacpp_backend.n_ctx}"):
        llamacpp_backend.generate("word " * (llamacpp_backend.n_ctx + 10))


@pytest.fixture(scope="module")
def fresh_backend() -> Iterator[LlamaCppBackend]:
    """A backend whose KV cache only ever held these tests' prompts, each evaluated alone.

    (Cells evaluated in a batch with other sequences may differ from a lone evaluation in the
    last float bits, enough to flip a greedy choice between two near-tied tokens.)
    """
    backend = LlamaCppBackend()
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def raw_llama() -> Iterator[Llama]:
    """llama-cpp-python's own Llama on the embedded model, as LlamaCppBackend configures its threads."""
    llm = Llama(model_path=str(embedded_model_path()), n_ctx=4096, n_threads=default_threads(),
                n_threads_batch=default_threads(), verbose=False)
    yield llm
    llm.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "knobs",
    [{}, {"repetition_penalty": 1.3}, {"stop": ["."]}],
    ids=["greedy", "repetition-penalty", "stop"],
)
def test_text_matches_the_raw_library_call(
    fresh_backend: LlamaCppBackend, raw_llama: Llama, knobs: dict[str, object]
) -> None:
    ours = fresh_backend.complete(PROMPT, max_new_tokens=24, **knobs)  # type: ignore[arg-type]
    raw = raw_llama(
        PROMPT, max_tokens=24, temperature=0.0, top_k=0, top_p=1.0, min_p=0.0,
        repeat_penalty=float(knobs.get("repetition_penalty", 1.0)),  # type: ignore[arg-type]
        stop=knobs.get("stop", []),  # type: ignore[arg-type]
    )  # fmt: skip
    assert ours.text == raw["choices"][0]["text"]  # type: ignore[index]


@pytest.mark.slow
def test_min_p_is_honoured(llamacpp_backend: LlamaCppBackend) -> None:
    # min_p=1 keeps only the most likely token: a very hot sample is then the greedy text.
    greedy = llamacpp_backend.complete(PROMPT, max_new_tokens=16).text
    hot = llamacpp_backend.generate(PROMPT, n=2, temperature=5.0, seed=3, max_new_tokens=16)
    assert all(sample.text != greedy for sample in hot)
    filtered = llamacpp_backend.generate(PROMPT, n=2, temperature=5.0, seed=3, max_new_tokens=16, min_p=1.0)
    assert [sample.text for sample in filtered] == [greedy, greedy]


@pytest.mark.slow
def test_a_growing_prompt_reuses_the_cached_prefix(llamacpp_backend: LlamaCppBackend) -> None:
    first = llamacpp_backend.complete(PROMPT, max_new_tokens=8)
    grown = PROMPT + first.text + "\nQuestion: And of Italy?\nAnswer:"
    second = llamacpp_backend.complete(grown, max_new_tokens=8)
    assert second.usage.prompt_tokens == llamacpp_backend.count_tokens(grown)
    assert second.usage.cached_prompt_tokens >= first.usage.prompt_tokens
    assert second.usage.cached_prompt_tokens < second.usage.prompt_tokens


@pytest.mark.slow
def test_samples_after_the_first_share_the_evaluated_prompt(llamacpp_backend: LlamaCppBackend) -> None:
    prompt = "Question: Where do penguins live?\nAnswer:"
    samples = llamacpp_backend.generate(prompt, n=3, temperature=0.8, max_new_tokens=4, seed=1)
    prompt_tokens = samples[0].usage.prompt_tokens
    assert samples[0].usage.cached_prompt_tokens < prompt_tokens - 1
    assert [s.usage.cached_prompt_tokens for s in samples[1:]] == [prompt_tokens] * 2


@pytest.mark.slow
def test_an_unrelated_prompt_reuses_nothing(llamacpp_backend: LlamaCppBackend) -> None:
    llamacpp_backend.complete(PROMPT, max_new_tokens=2)
    assert llamacpp_backend.complete("Zebras", max_new_tokens=2).usage.cached_prompt_tokens == 0


@pytest.mark.slow
def test_a_short_chat_reply_ends_at_the_end_of_sequence(llamacpp_backend: LlamaCppBackend) -> None:
    reply = llamacpp_backend.chat([{"role": "user", "content": "Say hello."}], max_new_tokens=64)[0]
    assert reply.finish_reason == "eos"
    assert reply.usage.completion_tokens < 64
    assert "<|im_end|>" not in reply.text


@pytest.mark.slow
def test_chat_template_and_special_tokens_come_from_the_gguf(llamacpp_backend: LlamaCppBackend) -> None:
    assert llamacpp_backend.chat_template == llamacpp_backend._llm.metadata["tokenizer.chat_template"]
    assert llamacpp_backend.special_tokens == {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}
    prompt = llamacpp_backend.format_chat([{"role": "user", "content": "Hi"}])
    assert prompt.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.slow
def test_a_call_made_while_a_stream_is_open_runs_beside_it(llamacpp_backend: LlamaCppBackend) -> None:
    expected = llamacpp_backend.complete(PROMPT, max_new_tokens=12).text
    stream = llamacpp_backend.stream(PROMPT, max_new_tokens=12)
    first = next(iter(stream))
    assert llamacpp_backend.complete("Zebras are", max_new_tokens=2).usage.completion_tokens >= 1
    assert first + "".join(stream) == expected


@pytest.mark.slow
def test_a_chat_template_override_is_used() -> None:
    template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}[assistant]"
    with LlamaCppBackend(chat_template=template, n_ctx=256) as backend:
        assert backend.format_chat([{"role": "user", "content": "Hi"}]) == "[user] Hi\n[assistant]"


def test_the_header_reader_skips_every_value_kind(tmp_path: Path) -> None:
    def string(value: str) -> bytes:
        return struct.pack("<Q", len(value)) + value.encode()

    entries = [
        string("a.u32") + struct.pack("<II", 4, 7),
        string("a.strings") + struct.pack("<IIQ", 9, 8, 2) + string("x") + string("yz"),
        string("a.floats") + struct.pack("<IIQ", 9, 6, 3) + struct.pack("<fff", 1, 2, 3),
        string("general.architecture") + struct.pack("<I", 8) + string("qwen2"),
    ]
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(entries)) + b"".join(entries))
    assert gguf_architecture(model) == "qwen2"
    model.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + string("k") + struct.pack("<I", 99))
    with pytest.raises(ModelLoadError, match="unknown metadata value type 99"):
        gguf_architecture(model)


def test_load_backend_passes_the_path(tmp_path: Path) -> None:
    from promptlab.backends import load_backend

    with pytest.raises(ModelLoadError, match=r"x\.gguf"):
        load_backend(f"llamacpp:{tmp_path / 'x.gguf'}")


# ----------------------------------------------------------------------------- constraints
@pytest.mark.slow
@pytest.mark.parametrize(
    "constraint",
    [
        Regex(pattern=r"[0-9]{1,3}(, [0-9]{1,3}){2}"),
        Choice(options=("Paris", "London", "Berlin")),
        Grammar(lark='start: "Action: " tool "[" /[a-z ]{1,20}/ "]"\ntool: "Search" | "Finish"'),
        JsonSchema.of({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
                       "additionalProperties": False}),
    ],
)
def test_a_constrained_completion_matches_and_ends_with_eos(fresh_backend: LlamaCppBackend, constraint: Any) -> None:
    # JSON allows any whitespace: the tiny model's greedy path through it depends on the last float bits.
    completion = fresh_backend.complete(PROMPT, max_new_tokens=60, constraint=constraint)
    assert completion.finish_reason == "eos", completion
    assert constraint.check(completion.text), completion.text


@pytest.mark.slow
def test_constrained_samples_each_follow_the_constraint(llamacpp_backend: LlamaCppBackend) -> None:
    constraint = Regex(pattern=r"(yes|no|maybe)( (yes|no|maybe)){0,3}")
    samples = llamacpp_backend.generate(PROMPT, max_new_tokens=30, temperature=1.5, n=4, seed=3, constraint=constraint)
    assert all(constraint.check(s.text) and s.finish_reason == "eos" for s in samples), samples
    assert len({s.text for s in samples}) > 1  # sampling still samples, inside the constraint


@pytest.mark.slow
def test_max_new_tokens_cuts_a_constraint_with_length(llamacpp_backend: LlamaCppBackend) -> None:
    constraint = Regex(pattern=r"[a-z]+( [a-z]+){20,}")
    completion = llamacpp_backend.complete(PROMPT, max_new_tokens=5, constraint=constraint)
    assert completion.finish_reason == "length"
    assert constraint.allows_prefix(completion.text) and not constraint.check(completion.text)


@pytest.mark.slow
def test_a_stop_ends_a_constrained_stream_only_where_the_constraint_holds(llamacpp_backend: LlamaCppBackend) -> None:
    constraint = Regex(pattern=r"( [0-9],)+")
    prompt = "Count: 1, 2,"
    chunks = list(llamacpp_backend.stream(prompt, max_new_tokens=20, constraint=constraint, stop=[" 5,"]))
    assert "".join(chunks) == " 3, 4,"
    strict = Regex(pattern=r"( [0-9],)+ 9")  # " 3, 4," does not match: the stop is ordinary text
    completion = llamacpp_backend.complete(prompt, max_new_tokens=20, constraint=strict, stop=[" 5,"])
    assert completion.stop is None and " 5," in completion.text


@pytest.mark.slow
def test_structured_output_on_llamacpp(llamacpp_backend: LlamaCppBackend) -> None:
    class Capital(BaseModel):
        city: str = Field(max_length=30)
        country: str = Field(max_length=30)

    answer = llamacpp_backend.generate_structured("The capital of France, as JSON:", Capital, max_new_tokens=60)
    assert isinstance(answer.value, Capital) and answer.completion.finish_reason == "eos"
    chat = llamacpp_backend.chat_structured([{"role": "user", "content": "Capital of Italy as JSON?"}], Capital,
                                            max_new_tokens=60)
    assert isinstance(chat.value, Capital)
    with pytest.raises(ConstraintViolationError, match="cut off at max_new_tokens=3") as cut:
        llamacpp_backend.generate_structured("The capital of France, as JSON:", Capital, max_new_tokens=3)
    assert cut.value.text and JsonSchema.of(Capital).allows_prefix(cut.value.text)
