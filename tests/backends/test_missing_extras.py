"""A missing optional dependency is one MissingDependencyError naming the extra that installs it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from promptlab.backends.registry import load_backend
from promptlab.errors import MissingDependencyError


def hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make ``modules`` unimportable, and forget promptlab modules that imported them."""
    for name in list(sys.modules):
        if name in ("promptlab.backends.hf", "promptlab.backends.hf_loading") or name.split(".")[0] in modules:
            monkeypatch.delitem(sys.modules, name)
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def test_hf_without_torch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hide(monkeypatch, "torch")
    with pytest.raises(MissingDependencyError, match=r"the hf backend needs torch.*pip install 'promptlab\[hf\]'"):
        load_backend(f"hf:{tmp_path}")
    with pytest.raises(MissingDependencyError, match=r"promptlab\[hf\]"):
        from promptlab.backends import HFBackend  # noqa: F401


def test_llamacpp_without_llama_cpp(monkeypatch: pytest.MonkeyPatch) -> None:
    hide(monkeypatch, "llama_cpp")
    with pytest.raises(MissingDependencyError, match=r"needs llama_cpp.*promptlab\[llamacpp\]"):
        load_backend("llamacpp")


def test_llama_server_without_the_server_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from promptlab.backends.llama_server import llama_server

    hide(monkeypatch, "fastapi")
    with pytest.raises(MissingDependencyError, match=r"needs fastapi.*promptlab\[server\]"), llama_server():
        pass


def test_semantic_selectors_without_sentence_transformers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from promptlab.prompts.fewshot.semantic import SentenceEmbedder

    (tmp_path / "config.json").write_text("{}")
    hide(monkeypatch, "sentence_transformers")
    with pytest.raises(MissingDependencyError, match=r"sentence_transformers.*promptlab\[embeddings\]"):
        _ = SentenceEmbedder(model_path=tmp_path).model


def test_the_error_is_one_line_and_an_import_error() -> None:
    error = MissingDependencyError("the hf backend", "torch", "hf")
    assert isinstance(error, ImportError)
    assert "\n" not in str(error)
