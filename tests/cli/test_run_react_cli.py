"""``promptlab run react`` with a scripted mock backend and the fixture Wikipedia."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from promptlab.cli.app import app
from promptlab.tools import LocalWikipedia
from promptlab.tracing import read_traces

cli = CliRunner()


def script(tmp_path: Path, *responses: str) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(list(responses)), encoding="utf-8")
    return f"mock:{path}"


def test_react_with_wikipedia_prints_the_answer(tmp_path: Path) -> None:
    backend = script(tmp_path, " I need Nicholas Ray.\nAction 1: Search[Nicholas Ray]\nObservation 1: x",
                     " He was a director.\nAction 2: Finish[director]")
    trace = tmp_path / "trace.jsonl"
    with LocalWikipedia({"Nicholas Ray": "Nicholas Ray was an American film director"}) as wiki:
        result = cli.invoke(app, ["run", "react", "What was Nicholas Ray?", "--backend", backend,
                                  "--wiki-url", wiki.api_url, "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "director"
    (recorded,) = read_traces(trace)
    assert recorded.steps[0].observation == "Nicholas Ray was an American film director."


def test_react_json_with_calculator_and_python(tmp_path: Path) -> None:
    backend = script(tmp_path, " Compute.\nAction 1: Calculator[2 ** 10]", " Check.\nAction 2: Python[sum(range(5))]",
                     " Both.\nAction 3: Finish[1024]")
    result = cli.invoke(app, ["run", "react", "2 to the 10th?", "--backend", backend, "--tools",
                              "calculator,python", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["answer"], data["status"]) == ("1024", "ok")
    assert [s["observation"] for s in data["steps"][:2]] == ["1024", "10"]
    assert "(1) Calculator[expression]" in data["steps"][0]["prompt"]


def test_react_retriever_over_documents(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"id": "d1", "text": "Paris is the capital of France."}\n'
                    '{"id": "d2", "text": "Berlin is the capital of Germany."}\n', encoding="utf-8")
    backend = script(tmp_path, " Look.\nAction 1: Retrieve[capital of Germany]", " Found.\nAction 2: Finish[Berlin]")
    result = cli.invoke(app, ["run", "react", "Capital of Germany?", "--backend", backend, "--tools", "retriever",
                              "--documents", str(docs), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["steps"][0]["observation"].startswith("[d2] Berlin is the capital of Germany.")


def test_react_without_an_answer_exits_1_and_says_why(tmp_path: Path) -> None:
    backend = script(tmp_path, *[" Again.\nAction 1: Calculator[1 + 1]"] * 2)
    result = cli.invoke(app, ["run", "react", "q?", "--backend", backend, "--tools", "calculator",
                              "--max-steps", "2"])
    assert result.exit_code == 1
    assert "no answer (max_steps)" in result.stderr


def test_react_falls_back_to_cot_self_consistency(tmp_path: Path) -> None:
    backend = script(tmp_path, " Hmm.\nAction 1: Calculator[1 + 1]",
                     " So the answer is Paris.\nAnswer: Paris", " Hence the answer is Paris.\nAnswer: Paris")
    result = cli.invoke(app, ["run", "react", "Capital of France?", "--backend", backend, "--tools", "calculator",
                              "--max-steps", "1", "--fallback-cot", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["answer"], data["votes"]) == ("Paris", {"Paris": 2})


def test_react_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    backend = script(tmp_path, "unused")
    for arguments, message in [
        (["q?", "--tools", "browser"], "unknown tool 'browser'; choose from wikipedia, calculator, python, retriever"),
        (["q?", "--tools", "retriever"], "the retriever tool needs --documents FILE"),
        (["  "], "the question is empty"),
    ]:
        result = cli.invoke(app, ["run", "react", *arguments, "--backend", backend])
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert "Traceback" not in result.output


def test_react_chat_variant_with_json_tool_calls(tmp_path: Path) -> None:
    backend = script(tmp_path, '{"thought": "compute", "tool": "calculator", "arguments": {"expression": "6 * 7"}}',
                     '{"tool": "finish", "arguments": {"answer": "42"}}')
    result = cli.invoke(app, ["run", "react", "6 times 7?", "--backend", backend, "--tools", "calculator", "--chat",
                              "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"] == "42"
    assert data["steps"][0]["observation"] == "42"
    assert '"name": "calculator"' in data["steps"][0]["prompt"]
