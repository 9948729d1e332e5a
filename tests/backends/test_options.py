"""Backend options in spec strings and from the CLI: checked against the constructor, converted by annotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptlab.backends.mock import MockBackend
from promptlab.backends.openai import OpenAIBackend
from promptlab.backends.options import bind_options, split_spec, with_options
from promptlab.backends.registry import load_backend
from promptlab.errors import BackendSpecError


def test_the_option_part_is_split_off_and_keys_may_repeat() -> None:
    target, options = split_spec("hf:/models/x?quantization=nf4&adapters=a%3D/p&adapters=b=/q")
    assert target == "hf:/models/x"
    assert options == {"quantization": ["nf4"], "adapters": ["a=/p", "b=/q"]}
    assert split_spec("openai:http://h:8000/v1") == ("openai:http://h:8000/v1", {})


def test_cli_pairs_are_appended_to_the_spec() -> None:
    spec = with_options("openai:http://h/v1?model=m", ["dialect=vllm", "extra_body={\"a\": 1}"])
    assert split_spec(spec)[1] == {"model": ["m"], "dialect": ["vllm"], "extra_body": ['{"a": 1}']}
    with pytest.raises(BackendSpecError, match="KEY=VALUE"):
        with_options("mock", ["n_ctx"])


class _Engine:
    def __init__(
        self, target: str, *, n_ctx: int = 4096, flash: bool = False, scale: float | None = 1.0,
        adapters: dict[str, Path] | None = None, adapter: str | None = None, name: str = "x",
    ) -> None:
        pass


def test_values_are_converted_to_the_annotation() -> None:
    texts = {"n_ctx": ["8192"], "flash": ["true"], "scale": ["none"], "name": ["[1]"]}
    assert bind_options("e", _Engine.__init__, texts, {}) == {"n_ctx": 8192, "flash": True, "scale": None,
                                                                "name": "[1]"}


def test_a_mapping_takes_entries_and_a_selector_adds_and_selects_one() -> None:
    bound = bind_options("e", _Engine.__init__, {"adapters": ["a=/p", "b=/q"]}, {})
    assert bound == {"adapters": {"a": Path("/p"), "b": Path("/q")}}
    bound = bind_options("e", _Engine.__init__, {"adapter": ["math=/loras/math"]}, {})
    assert bound == {"adapters": {"math": "/loras/math"}, "adapter": "math"}


def test_an_unknown_key_lists_the_valid_ones() -> None:
    with pytest.raises(BackendSpecError) as info:
        bind_options("e", _Engine.__init__, {"n_cxt": ["1"]}, {})
    assert "no option 'n_cxt'" in str(info.value)
    assert "adapter, adapters, flash, n_ctx, name, scale" in str(info.value)
    with pytest.raises(BackendSpecError, match="no option 'bogus'"):
        bind_options("e", _Engine.__init__, {}, {"bogus": 1})


def test_a_bad_value_names_the_option_and_the_problem() -> None:
    with pytest.raises(BackendSpecError, match=r"n_ctx='lots' is invalid: .*integer"):
        bind_options("e", _Engine.__init__, {"n_ctx": ["lots"]}, {})
    with pytest.raises(BackendSpecError, match="given 2 times"):
        bind_options("e", _Engine.__init__, {"n_ctx": ["1", "2"]}, {})


def test_load_backend_passes_spec_options_to_the_openai_backend() -> None:
    llm = load_backend("openai:http://127.0.0.1:9/v1?model=qwen&dialect=vllm&timeout=5&max_retries=0")
    assert isinstance(llm, OpenAIBackend)
    assert (llm.model, llm.dialect) == ("qwen", "vllm")
    llm.close()


def test_load_backend_rejects_unknown_options_for_every_kind(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text('["a"]')
    with pytest.raises(BackendSpecError, match=r"the openai backend has no option 'n_ctx'; valid options: .*dialect"):
        load_backend("openai:http://127.0.0.1:9/v1?n_ctx=5")
    with pytest.raises(BackendSpecError, match="the mock backend has no option 'x'; valid options: none"):
        load_backend(f"mock:{script}?x=1")
    with pytest.raises(BackendSpecError, match="the mock backend has no option 'x'"):
        load_backend("mock", x=1)
    assert isinstance(load_backend("mock", default="hi"), MockBackend)


def test_an_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("MY_KEY", "sk-mine")
    with load_backend("openai:http://127.0.0.1:9/v1") as llm:
        assert llm._client.headers["authorization"] == "Bearer sk-env"  # type: ignore[attr-defined]
    with load_backend("openai:http://127.0.0.1:9/v1?api_key_env=MY_KEY") as llm:
        assert llm._client.headers["authorization"] == "Bearer sk-mine"  # type: ignore[attr-defined]
    with pytest.raises(BackendSpecError, match=r"'NOPE'.*not set"):
        load_backend("openai:http://127.0.0.1:9/v1?api_key_env=NOPE")


@pytest.mark.slow
def test_llamacpp_options_reach_llama_cpp() -> None:
    with load_backend("llamacpp?n_ctx=1024&n_batch=64&seed=3") as llm:
        assert llm.n_ctx == 1024  # type: ignore[attr-defined]
    with pytest.raises(BackendSpecError, match=r"no option 'n_cxt'.*n_gpu_layers"):
        load_backend("llamacpp?n_cxt=1024")
