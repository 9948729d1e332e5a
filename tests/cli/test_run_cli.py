"""``promptlab run cot|pal`` through Typer's CliRunner with scripted mock backends."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from promptlab.cli.app import app
from promptlab.tracing import read_traces

cli = CliRunner()
PROGRAM = "def solution():\n    money_initial = 23\n    spent = 5 * 3\n    return money_initial - spent"


def script(tmp_path: Path, *responses: str) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(list(responses)), encoding="utf-8")
    return f"mock:{path}"


def test_cot_prints_the_answer(tmp_path: Path) -> None:
    backend = script(tmp_path, "5 x 3 = 15. 23 - 15 = 8. The answer is 8.\n\nQ: more")
    result = cli.invoke(app, ["run", "cot", "Olivia has $23...", "--backend", backend])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "8"


def test_cot_checks_the_rationales_arithmetic_unless_told_not_to(tmp_path: Path) -> None:
    backend = script(tmp_path, "4 + 5 + 9 = 21. The answer is 21.")
    checked = cli.invoke(app, ["run", "cot", "q", "--backend", backend, "--json"])
    assert checked.exit_code == 0, checked.output
    data = json.loads(checked.stdout)
    assert data["answer"] == "18" and data["steps"][0]["data"]["corrections"] == ["4 + 5 + 9 = 21 -> 18"]
    unchecked = cli.invoke(app, ["run", "cot", "q", "--backend", backend, "--no-check-arithmetic"])
    assert unchecked.exit_code == 0, unchecked.output
    assert unchecked.stdout.strip() == "21"


def test_cot_weighs_ungrounded_votes_unless_told_not_to(tmp_path: Path) -> None:
    backend = script(tmp_path, "7 x 10 = 70. The answer is 70.", "7 + 2 = 9. The answer is 9.", "The answer is 70.")
    question = "Jose has 7 caps and gets 2 more. How many now?"
    weighted = cli.invoke(app, ["run", "cot", question, "--backend", backend, "--n", "3"])
    assert weighted.exit_code == 0, weighted.output
    assert weighted.stdout.strip() == "9"
    assert "9 won with 1 vote(s) weighing 1 against 70's 2 weighing 0.5" in weighted.stderr
    plain = cli.invoke(app, ["run", "cot", question, "--backend", backend, "--n", "3", "--ungrounded-weight", "1"])
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.strip() == "70"
    bad = cli.invoke(app, ["run", "cot", question, "--backend", backend, "--ungrounded-weight", "2"])
    assert bad.exit_code == 2 and "ungrounded-weight" in bad.output


def test_cot_self_consistency_json(tmp_path: Path) -> None:
    backend = script(tmp_path, "The answer is 8.", "The answer is 9.", "The answer is 8.")
    trace = tmp_path / "trace.jsonl"
    result = cli.invoke(app, ["run", "cot", "q", "--backend", backend, "--n", "3", "--json", "--trace", str(trace)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"] == "8" and data["status"] == "ok"
    assert data["votes"] == {"8": 2, "9": 1}
    assert data["agreement"] == 2 / 3
    assert [s["kind"] for s in data["steps"]] == ["generate"] * 3 + ["vote"]
    assert read_traces(trace)[0].answer == "8"


def test_adaptive_self_consistency_with_the_greedy_vote(tmp_path: Path) -> None:
    backend = script(tmp_path, *["The answer is 4."] * 8)
    result = cli.invoke(app, ["run", "cot", "q", "--backend", backend, "--n", "8", "--greedy-vote", "--adaptive"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "4" and "3 samples" in result.stderr


def test_cot_with_an_example_pool_and_selector(tmp_path: Path) -> None:
    pool = tmp_path / "pool.jsonl"
    pool.write_text('{"question": "cars in a lot", "rationale": "3 + 2 = 5. The answer is 5.", "answer": 5}\n'
                    '{"question": "trees in a grove", "rationale": "21 - 15 = 6. The answer is 6.", "answer": 6}\n')
    backend = script(tmp_path, "Final: 42")
    result = cli.invoke(app, ["run", "cot", "How many trees?", "--backend", backend, "--examples", str(pool),
                              "--shots", "1", "--selector", "bm25", "--answer-regex", r"Final: (\d+)", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"] == "42"
    prompt = data["steps"][0]["prompt"]
    assert "trees in a grove" in prompt and "cars in a lot" not in prompt


def test_pal_runs_the_program(tmp_path: Path) -> None:
    result = cli.invoke(app, ["run", "pal", "Olivia has $23...", "--backend", script(tmp_path, PROGRAM)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "8"


def test_pal_scoped_asks_line_by_line(tmp_path: Path) -> None:
    lines = ['def solution():\n    """Olivia has $23 and spends $15."""\n', "\n    money = 23\n",
             "\n    left = money - 15\n", "\n    return left\n"]
    result = cli.invoke(app, ["run", "pal", "Olivia has $23...", "--scoped", "--backend", script(tmp_path, *lines)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "8"


def test_pal_json_with_votes_and_a_failed_sample(tmp_path: Path) -> None:
    backend = script(tmp_path, PROGRAM, "def solution():\n    return apples", PROGRAM)
    result = cli.invoke(app, ["run", "pal", "q", "--backend", backend, "-n", "3", "--json"])
    data = json.loads(result.stdout)
    assert (data["answer"], data["votes"], data["agreement"]) == ("8", {"8": 2}, 2 / 3)
    executes = [s for s in data["steps"] if s["kind"] == "execute"]
    assert [s["data"]["status"] for s in executes] == ["ok", "sandbox_error", "ok"]


def test_no_answer_exits_1_with_the_reason(tmp_path: Path) -> None:
    result = cli.invoke(app, ["run", "pal", "q", "--backend", script(tmp_path, "def solution():\n    return 1/0")])
    assert result.exit_code == 1
    assert "no answer (sandbox_error): ZeroDivisionError" in result.stderr


def test_bad_options_are_one_clear_line(tmp_path: Path) -> None:
    result = cli.invoke(app, ["run", "cot", "q", "--backend", "mock:/nonexistent.json"])
    assert result.exit_code == 2 and "does not exist" in result.stderr and "Traceback" not in result.output
    result = cli.invoke(app, ["run", "cot", "q", "--backend", "mock", "--shots", "2"])
    assert result.exit_code == 2 and "--examples" in result.stderr
    result = cli.invoke(app, ["run", "pal", "q", "--backend", script(tmp_path, PROGRAM), "--timeout", "-1"])
    assert result.exit_code == 2 and "timeout" in result.stderr
