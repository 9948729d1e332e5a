"""The RAG and ReAct examples run end to end (scripted backends; the RAG one also on the embedded model)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_rag_pipeline_cites_the_retrieved_passage(capsys: pytest.CaptureFixture[str]) -> None:
    rag = load("rag_pipeline")
    assert rag.main(["--backend", f"mock:{EXAMPLES / 'data' / 'rag_mock.json'}"]) == 0
    out = capsys.readouterr().out
    assert "Retrieved:\n  [high_plains]" in out
    assert "Cited: high_plains" in out


def test_react_example_runs_offline(capsys: pytest.CaptureFixture[str]) -> None:
    react = load("react_wikipedia")
    code = react.main(["--offline-fixtures", "--backend", f"mock:{EXAMPLES / 'data' / 'react_mock.json'}"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Observation 2: First for Women is a woman's magazine" in out
    assert "Answer: Arthur's Magazine  (status: ok, 3 steps" in out


@pytest.mark.slow
def test_rag_pipeline_on_the_embedded_model(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("llama_cpp")
    rag = load("rag_pipeline")
    rag.main(["--question", "Who directed The Interview?"])
    out = capsys.readouterr().out
    assert "Retrieved:\n  [the_interview]" in out
    assert "\nAnswer: " in out and "\nCited: " in out


def test_tool_calling_example_runs_a_scripted_agent(capsys: pytest.CaptureFixture[str]) -> None:
    example = load("tool_calling")
    code = example.main(["--backend", f"mock:{EXAMPLES / 'data' / 'tool_calling_mock.json'}"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert 'Call 1: retrieve({"query": "High Plains elevation feet"})\n  -> [high_plains] The High Plains' in out
    assert 'Call 2: calculator({"expression": "7000 - 1800"})\n  -> 5200' in out
    assert "Answer: 5200  (status: ok, 3 steps)" in out


@pytest.mark.slow
@pytest.mark.parametrize("where", ["embedded", "server"])
def test_tool_calling_example_on_real_models(where: str, request: pytest.FixtureRequest,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("llama_cpp")
    example = load("tool_calling")
    # On llama.cpp's llama-server the README's way: JSON calls constrained through the server's json_schema.
    spec = "llamacpp" if where == "embedded" else f"openai:{request.getfixturevalue('native_server')}?tool_format=json"
    example.main(["--backend", spec, "--max-steps", "2"])
    out = capsys.readouterr().out
    assert "Call 1: " in out  # the model called a tool (constrained in process and on the server)
    assert "[error:" not in out.split("Call 1: ", 1)[1].split("\n", 1)[0]
    assert "\nAnswer: " in out
