"""HFBackend: fast tests on a tiny random Llama built on disk; slow ones on the real SmolLM2 GGUF weights."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from promptlab import ConfigError, ContextLengthError, ModelLoadError, UnsupportedKnobError  # noqa: E402
from promptlab.backends.hf import HFBackend  # noqa: E402
from promptlab.backends.registry import load_backend  # noqa: E402
from promptlab.constraints import Choice, Grammar, JsonSchema, Regex  # noqa: E402
from promptlab.errors import BackendClosedError, BackendError, ConstraintViolationError  # noqa: E402
from promptlab.stopping import find_stop  # noqa: E402
from tests.backends.hf_models import build_tiny_llama, build_tiny_lora, write_gguf  # noqa: E402

PROMPT = "Question: What is the capital of France? Answer:"


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def lora_dirs(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lora")
    return {name: build_tiny_lora(tiny_dir, root / name, seed=seed) for name, seed in (("a", 1), ("b", 2))}


@pytest.fixture(scope="session")
def tiny(tiny_dir: Path, lora_dirs: dict[str, Path]) -> HFBackend:
    return HFBackend(tiny_dir, device="cpu", adapters=lora_dirs)


@pytest.fixture(scope="session")
def tiny_uncached(tiny_dir: Path) -> HFBackend:
    return HFBackend(tiny_dir, device="cpu", prefix_cache=False)


def raw_generate(backend: HFBackend, prompt: str, **options: Any) -> list[str]:
    """Reference: transformers' own generate on the same model, cut at the first eos/pad."""
    tokenizer = backend.tokenizer
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    with torch.inference_mode():
        out = backend.model.generate(ids, pad_token_id=tokenizer.pad_token_id, **options)
    texts = []
    for row in out[:, ids.shape[1] :].tolist():
        if tokenizer.eos_token_id in row:
            row = row[: row.index(tokenizer.eos_token_id)]
        texts.append(tokenizer.decode(row))
    return texts


# ------------------------------------------------------------------ greedy, knobs
def test_greedy_matches_transformers_generate(tiny: HFBackend) -> None:
    expected = raw_generate(tiny, PROMPT, max_new_tokens=12, do_sample=False)[0]
    tiny.clear_cache()
    first = tiny.complete(PROMPT, max_new_tokens=12)
    again = tiny.complete(PROMPT, max_new_tokens=12)  # second call reuses the cached prompt
    assert first.text == expected
    assert again.text == expected
    assert first.usage.cached_prompt_tokens == 0
    assert again.usage.cached_prompt_tokens == again.usage.prompt_tokens - 1


def test_max_new_tokens_is_honoured(tiny: HFBackend) -> None:
    for limit in (1, 3, 9):
        completion = tiny.complete(PROMPT, max_new_tokens=limit)
        assert completion.usage.completion_tokens <= limit
        if completion.finish_reason == "length":
            assert completion.usage.completion_tokens == limit
    assert tiny.complete(PROMPT, max_new_tokens=9).finish_reason in ("length", "eos")


def test_stop_string_is_trimmed_and_reported(tiny: HFBackend) -> None:
    full = tiny.complete(PROMPT, max_new_tokens=30).text
    assert len(full) > 6
    stop = full[3:6]
    completion = tiny.complete(PROMPT, max_new_tokens=30, stop=[stop, "never-generated"])
    assert completion.finish_reason == "stop"
    assert completion.stop == stop
    assert completion.text == full[: full.index(stop)]
    assert stop not in completion.text


def test_beam_search_matches_transformers(tiny: HFBackend) -> None:
    expected = raw_generate(tiny, PROMPT, max_new_tokens=8, num_beams=3, num_return_sequences=2, do_sample=False)
    completions = tiny.generate(PROMPT, max_new_tokens=8, num_beams=3, n=2)
    assert [c.text for c in completions] == expected


def test_repetition_penalty_changes_greedy_text(tiny: HFBackend) -> None:
    plain = tiny.complete(PROMPT, max_new_tokens=30).text
    penalised = tiny.complete(PROMPT, max_new_tokens=30, repetition_penalty=3.0).text
    assert plain != penalised


def test_top_k_1_and_tiny_top_p_sample_the_greedy_token(tiny: HFBackend) -> None:
    greedy = tiny.complete(PROMPT, max_new_tokens=10).text
    assert tiny.complete(PROMPT, max_new_tokens=10, temperature=1.5, top_k=1, seed=1).text == greedy
    assert tiny.complete(PROMPT, max_new_tokens=10, temperature=1.5, top_p=1e-6, seed=1).text == greedy


def test_min_p_1_samples_the_greedy_token(tiny: HFBackend) -> None:
    greedy = tiny.complete(PROMPT, max_new_tokens=10).text
    assert tiny.complete(PROMPT, max_new_tokens=10, temperature=5.0, seed=1).text != greedy
    assert tiny.complete(PROMPT, max_new_tokens=10, temperature=5.0, min_p=1.0, seed=1).text == greedy


# -------------------------------------------------------------------- n samples
def test_n_samples_are_seeded_and_distinct(tiny: HFBackend) -> None:
    config = {"max_new_tokens": 12, "temperature": 1.5, "n": 6}
    first = [c.text for c in tiny.generate(PROMPT, seed=7, **config)]
    again = [c.text for c in tiny.generate(PROMPT, seed=7, **config)]
    other = [c.text for c in tiny.generate(PROMPT, seed=8, **config)]
    assert len(first) == 6
    assert first == again
    assert first != other
    assert len(set(first)) > 1


def test_each_sample_stops_on_its_own(tiny: HFBackend) -> None:
    config = {"max_new_tokens": 16, "temperature": 1.0, "n": 6, "seed": 3}
    free = [c.text for c in tiny.generate(PROMPT, **config)]
    stop = max({t[2] for t in free if len(t) > 2}, key=lambda ch: sum(ch in t for t in free))
    stopped = tiny.generate(PROMPT, stop=[stop], **config)
    assert any(c.finish_reason == "stop" for c in stopped)
    for text, completion in zip(free, stopped, strict=True):
        expected = find_stop(text, [stop])
        assert completion.text == expected.text
        assert completion.stop == expected.stop
        assert (completion.finish_reason == "stop") == (expected.stop is not None)


def test_seeded_call_leaves_the_global_rng_alone(tiny: HFBackend) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny.generate(PROMPT, max_new_tokens=4, temperature=1.0, seed=5)
    assert torch.equal(torch.rand(3), expected)


# ----------------------------------------------------------------- prefix cache
def test_prefix_cache_gives_the_same_text_on_a_growing_prompt(tiny: HFBackend, tiny_uncached: HFBackend) -> None:
    tiny.clear_cache()
    prompt, previous_prompt_tokens = PROMPT, 0
    for step in range(4):
        cached = tiny.complete(prompt, max_new_tokens=10, stop=["Observation"])
        fresh = tiny_uncached.complete(prompt, max_new_tokens=10, stop=["Observation"])
        assert cached.text == fresh.text
        assert fresh.usage.cached_prompt_tokens == 0
        assert cached.usage.cached_prompt_tokens >= previous_prompt_tokens // 2
        previous_prompt_tokens = cached.usage.prompt_tokens
        prompt = f"{prompt}{cached.text}\nObservation {step}: Paris.\nThought:"


def test_cache_is_cropped_when_the_prompt_diverges(tiny: HFBackend) -> None:
    tiny.complete(PROMPT + " Paris and more", max_new_tokens=5)
    completion = tiny.complete(PROMPT + " Lyon", max_new_tokens=5)
    shared = tiny.count_tokens(PROMPT)
    assert 0 < completion.usage.cached_prompt_tokens < completion.usage.prompt_tokens
    assert completion.usage.cached_prompt_tokens >= shared - 1
    assert completion.text == tiny.with_adapter(None).complete(PROMPT + " Lyon", max_new_tokens=5).text


def test_prompt_longer_than_the_context_window_is_rejected(tiny: HFBackend) -> None:
    assert tiny.context_length == 256
    with pytest.raises(ContextLengthError, match="context window is 256"):
        tiny.complete("Paris " * 400)
    with pytest.raises(ContextLengthError):
        tiny.stream("Paris " * 400)  # raised at the call, before any iteration


def test_generation_stops_at_the_end_of_the_context_window(tiny: HFBackend) -> None:
    prompt = "Paris " * 300
    while tiny.count_tokens(prompt) > 250:
        prompt = prompt[6:]
    completion = tiny.complete(prompt, max_new_tokens=50)
    assert completion.usage.prompt_tokens + completion.usage.completion_tokens <= 256


# --------------------------------------------------------------------- adapters
def test_adapters_change_outputs_and_switch_back(tiny: HFBackend) -> None:
    base = tiny.complete(PROMPT, max_new_tokens=12).text
    a = tiny.with_adapter("a").complete(PROMPT, max_new_tokens=12)
    b = tiny.with_adapter("b").complete(PROMPT, max_new_tokens=12).text
    assert tiny.adapters == ("a", "b")
    assert len({base, a.text, b}) == 3
    assert a.usage.cached_prompt_tokens == 0  # another adapter's cache is never reused
    assert tiny.with_adapter("a").complete(PROMPT, max_new_tokens=12).text == a.text
    assert tiny.complete(PROMPT, max_new_tokens=12).text == base


def test_default_adapter_and_unknown_adapter(tiny_dir: Path, lora_dirs: dict[str, Path], tiny: HFBackend) -> None:
    backend = HFBackend(tiny_dir, device="cpu", adapters={"b": lora_dirs["b"]}, adapter="b")
    assert (
        backend.complete(PROMPT, max_new_tokens=12).text
        == tiny.with_adapter("b").complete(PROMPT, max_new_tokens=12).text
    )
    with pytest.raises(ConfigError, match="unknown adapter 'c'"):
        tiny.with_adapter("c")
    with pytest.raises(ModelLoadError, match=r"adapter_config\.json"):
        HFBackend(tiny_dir, device="cpu", adapters={"x": tiny_dir})


# -------------------------------------------------------------------- streaming
def test_stream_matches_generate_and_holds_back_stops(tiny: HFBackend) -> None:
    full = tiny.complete(PROMPT, max_new_tokens=24).text
    assert "".join(tiny.stream(PROMPT, max_new_tokens=24)) == full
    stop = full[4:7]
    chunks = list(tiny.with_adapter(None).stream(PROMPT, max_new_tokens=24, stop=[stop]))
    assert "".join(chunks) == full[: full.index(stop)]
    assert not any(stop in chunk for chunk in chunks)


def test_stream_can_be_abandoned_and_rejects_beams(tiny: HFBackend) -> None:
    stream = tiny.stream(PROMPT, max_new_tokens=200)
    first = next(stream)
    stream.close()  # stops the worker; the backend is free again
    assert tiny.complete(PROMPT, max_new_tokens=24).text.startswith(first)
    with pytest.raises(UnsupportedKnobError, match="num_beams"):
        list(tiny.stream(PROMPT, num_beams=2))


# ------------------------------------------------------------- chat, API glue
def test_chat_uses_the_tokenizer_template_and_special_tokens(tiny: HFBackend) -> None:
    assert tiny.special_tokens == {"bos_token": "<s>", "eos_token": "</s>"}
    prompt = tiny.format_chat([{"role": "user", "content": "hi"}])
    assert prompt == "<s><|user|>hi</s><|assistant|>"
    completion = tiny.chat([{"role": "user", "content": "hi"}], max_new_tokens=4)[0]
    assert completion.usage.prompt_tokens == len(tiny.tokenizer(prompt, add_special_tokens=False).input_ids)


def test_count_tokens_batch_async_and_registry(tiny_dir: Path, tiny: HFBackend) -> None:
    assert tiny.count_tokens(PROMPT) == tiny.complete(PROMPT, max_new_tokens=1).usage.prompt_tokens
    assert tiny.count_tokens("") == 0
    batch = tiny.generate_batch([PROMPT, "Thought:"], max_new_tokens=3)
    assert [len(b) for b in batch] == [1, 1]
    assert batch[0][0].text == tiny.complete(PROMPT, max_new_tokens=3).text
    result = asyncio.run(tiny.agenerate(PROMPT, max_new_tokens=3))
    assert result[0].text == batch[0][0].text
    assert isinstance(load_backend(f"hf:{tiny_dir}", device="cpu"), HFBackend)


# ----------------------------------------------------------------- bad input
def test_missing_and_wrong_paths(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        HFBackend(tmp_path / "nowhere")
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        HFBackend(tmp_path)
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match=r"not a \.gguf file"):
        HFBackend(tmp_path / "weights.bin")


def test_corrupt_gguf_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + b"\x00\xff" * 64)
    with pytest.raises(ModelLoadError, match=r"broken\.gguf.*corrupt"):
        HFBackend(path, device="cpu")


def test_unsupported_gguf_architecture_points_to_llamacpp(tmp_path: Path) -> None:
    write_gguf(tmp_path / "rwkv.gguf", "rwkv6")
    with pytest.raises(ModelLoadError, match=r"'rwkv6'.*llama\.cpp"):
        HFBackend(tmp_path, gguf_file="rwkv.gguf", device="cpu")


def test_bad_options_are_config_errors(tiny_dir: Path) -> None:
    with pytest.raises(ConfigError, match="quantization"):
        HFBackend(tiny_dir, device="cpu", quantization="fp3")
    with pytest.raises(ConfigError, match="dtype"):
        HFBackend(tiny_dir, device="cpu", dtype="float7")
    with pytest.raises(ConfigError, match="device"):
        HFBackend(tiny_dir, device="toaster")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")
@pytest.mark.parametrize("quantization", ["nf4", "int8"])
def test_bitsandbytes_without_cuda_says_so_and_points_to_gguf(tiny_dir: Path, quantization: str) -> None:
    with pytest.raises(ModelLoadError, match=r"needs a CUDA GPU.*llama\.cpp"):
        HFBackend(tiny_dir, quantization=quantization)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")
def test_gptq_checkpoint_without_cuda_says_so(tiny_dir: Path, tmp_path: Path) -> None:
    config = json.loads((tiny_dir / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "gptq", "bits": 4, "group_size": 128}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=r"gptq checkpoint needs a CUDA GPU"):
        HFBackend(tmp_path)
    with pytest.raises(ModelLoadError, match="no CUDA GPU"):
        HFBackend(tiny_dir, device="cuda")


# ------------------------------------------------------- real weights (SmolLM2)
@pytest.fixture
def smollm2(hf_backend: HFBackend) -> HFBackend:
    return hf_backend  # session fixture in tests/conftest.py, shared with the conformance suite


@pytest.mark.slow
def test_smollm2_gguf_chat_is_sane(smollm2: HFBackend) -> None:
    assert smollm2.source.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "<|im_start|>" in smollm2.chat_template
    assert smollm2.special_tokens["eos_token"] == "<|im_end|>"
    completion = smollm2.chat([{"role": "user", "content": "What is the capital of France?"}], max_new_tokens=40)[0]
    assert completion.text.strip()
    assert completion.finish_reason == "eos"
    assert "<|im_end|>" not in completion.text


@pytest.mark.slow
def test_smollm2_prefix_cache_matches_fresh_encoding(smollm2: HFBackend) -> None:
    prompt = "Question: Which river flows through Paris?\nThought 1:"
    smollm2.clear_cache()
    steps = []
    for step in range(2):
        completion = smollm2.complete(prompt, max_new_tokens=16, stop=["\nObservation"])
        steps.append(completion)
        prompt = f"{prompt}{completion.text}\nObservation {step + 1}: The Seine.\nThought {step + 2}:"
    assert steps[1].usage.cached_prompt_tokens >= steps[0].usage.prompt_tokens
    smollm2.clear_cache()
    previous = steps[0].text
    fresh_prompt = (
        f"Question: Which river flows through Paris?\nThought 1:{previous}\nObservation 1: The Seine.\nThought 2:"
    )
    fresh = smollm2.complete(fresh_prompt, max_new_tokens=16, stop=["\nObservation"])
    assert fresh.usage.cached_prompt_tokens == 0
    assert fresh.text == steps[1].text


@pytest.mark.slow
def test_smollm2_samples_stop_per_row(smollm2: HFBackend) -> None:
    completions = smollm2.generate(
        "The capital of France is", max_new_tokens=24, temperature=0.9, n=4, seed=2, stop=["."]
    )
    assert len(completions) == 4
    for completion in completions:
        assert "." not in completion.text
        assert completion.finish_reason in ("stop", "eos", "length")
    assert any(c.finish_reason == "stop" for c in completions)


# ------------------------------------------------------------------- constraints
@pytest.fixture(scope="module")
def tiny_bytes(tmp_path_factory: pytest.TempPathFactory) -> HFBackend:
    """A tiny random Llama with a byte-level tokenizer (llguidance reads those, not Metaspace ones)."""
    return HFBackend(build_tiny_llama(tmp_path_factory.mktemp("tiny-bytes"), byte_level=True), device="cpu")


DIGITS = Regex(pattern=r"[0-9]{2,4}")
ANSWER = Grammar(lark='start: "Action: " tool "[" /[a-z]{1,6}/ "]"\ntool: "Search" | "Finish"')


@pytest.mark.parametrize("constraint", [DIGITS, ANSWER, Choice(options=("Paris", "Lyon", "Nice"))])
def test_greedy_output_of_a_random_model_obeys_the_constraint(tiny_bytes: HFBackend, constraint: Any) -> None:
    completion = tiny_bytes.complete(PROMPT, max_new_tokens=40, constraint=constraint)
    assert completion.finish_reason == "eos", completion
    assert constraint.check(completion.text), completion.text


def test_every_sample_row_obeys_the_constraint(tiny_bytes: HFBackend) -> None:
    samples = tiny_bytes.generate(PROMPT, max_new_tokens=40, temperature=2.0, top_k=50, n=5, seed=1, constraint=ANSWER)
    assert all(ANSWER.check(s.text) and s.finish_reason == "eos" for s in samples), samples
    assert len({s.text for s in samples}) > 1


def test_every_beam_obeys_the_constraint(tiny_bytes: HFBackend) -> None:
    beams = tiny_bytes.generate(PROMPT, max_new_tokens=40, num_beams=4, n=4, constraint=ANSWER)
    assert len(beams) == 4
    assert all(ANSWER.check(b.text) for b in beams), beams


def test_a_constrained_stream_matches_generate(tiny_bytes: HFBackend) -> None:
    whole = tiny_bytes.complete(PROMPT, max_new_tokens=40, constraint=ANSWER)
    assert "".join(tiny_bytes.stream(PROMPT, max_new_tokens=40, constraint=ANSWER)) == whole.text


def test_a_constraint_cut_by_max_new_tokens_ends_with_length(tiny_bytes: HFBackend) -> None:
    long = Regex(pattern=r"[a-z]{30,40}")
    completion = tiny_bytes.complete(PROMPT, max_new_tokens=3, constraint=long)
    assert completion.finish_reason == "length"
    assert long.allows_prefix(completion.text) and not long.check(completion.text)


def test_a_stop_fires_only_where_the_constraint_is_met(tiny_bytes: HFBackend) -> None:
    spaced = Regex(pattern=r"[a-z]{3}-[a-z]{3}-[a-z]{3}")
    completion = tiny_bytes.complete(PROMPT, max_new_tokens=40, constraint=spaced, stop=["-"])
    assert completion.stop is None and spaced.check(completion.text)  # "abc" before the first "-" does not match


@pytest.mark.slow
def test_smollm2_structured_output(smollm2: HFBackend) -> None:
    class Capital(BaseModel):
        country: str = Field(max_length=30)
        city: str = Field(max_length=30)

    answer = smollm2.generate_structured("The capital of France, as JSON:", Capital, max_new_tokens=60)
    assert isinstance(answer.value, Capital) and answer.completion.finish_reason == "eos"
    with pytest.raises(ConstraintViolationError, match="cut off at max_new_tokens=4") as cut:
        smollm2.generate_structured("The capital of France, as JSON:", Capital, max_new_tokens=4)
    assert cut.value.text and JsonSchema.of(Capital).allows_prefix(cut.value.text)


def test_a_tokenizer_llguidance_cannot_read_is_a_clear_error(tiny: HFBackend) -> None:
    with pytest.raises(BackendError, match="cannot be read by llguidance"):
        tiny.complete(PROMPT, max_new_tokens=4, constraint=DIGITS)


def test_a_torch_failure_while_decoding_is_one_backend_error(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    llm = HFBackend(tiny_dir, device="cpu")

    def out_of_memory(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\n(details)")

    monkeypatch.setattr(llm.model, "generate", out_of_memory)
    message = r"transformers failed while generating: RuntimeError: CUDA out of memory\. Tried to allocate 2\.00 GiB$"
    with pytest.raises(BackendError, match=message):
        llm.complete("hi", max_new_tokens=2)
    with pytest.raises(BackendError, match=message):
        list(llm.stream("hi", max_new_tokens=2))
    llm.close()


def test_close_releases_the_model(tiny_dir: Path) -> None:
    import gc
    import weakref

    llm = HFBackend(tiny_dir, device="cpu")
    llm.complete("hi", max_new_tokens=2)
    model = weakref.ref(llm.model)
    llm.close()
    gc.collect()
    assert model() is None
    with pytest.raises(BackendClosedError):
        llm.count_tokens("hi")
