import json
from pathlib import Path

import pytest

from promptlab import BackendSpecError, MockBackend, load_backend


def test_mock_specs(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["hello"]))
    assert isinstance(load_backend("mock"), MockBackend)
    assert load_backend(f"mock:{script}").complete("q").text == "hello"


def test_unknown_spec_lists_the_valid_forms() -> None:
    with pytest.raises(BackendSpecError) as info:
        load_backend("gpt5")
    message = str(info.value)
    for form in ("mock:FILE.json", "llamacpp:PATH.gguf", "hf:PATH", "openai:URL"):
        assert form in message


@pytest.mark.parametrize("spec", ["hf", "openai"])
def test_specs_that_need_a_target(spec: str) -> None:
    with pytest.raises(BackendSpecError, match=spec):
        load_backend(spec)
