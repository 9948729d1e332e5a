"""PALRunner: the 8 real PAL GSM8K programs through the sandbox, bad programs, voting and retries."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from promptlab.backends.mock import MockBackend
from promptlab.runners.answers import answers_match
from promptlab.runners.pal import PALRunner, answer_from_value

PAL_FILE = Path(__file__).parents[2] / "templates" / "examples" / "gsm_pal_prompt.jsonl"
PROGRAMS: list[dict[str, Any]] = [json.loads(line) for line in PAL_FILE.read_text(encoding="utf-8").splitlines()]
# Bad programs are what an unconstrained engine writes: the tests that script them pass constrained=False
# (by default PAL constrains where the backend can, and the mock refuses what a constrained engine could not write).
GOOD = "def solution():\n    apples = 5\n    eaten = 2\n    result = apples - eaten\n    return result"


def asked(question: str) -> str:
    """A mock rule pattern that matches the prompt whose final question is ``question``."""
    return re.escape(f"Q: {question}\n\n# solution in Python:\n\n\n") + r"\Z"


def test_the_eight_pal_programs_run_to_their_answers() -> None:
    # the model "writes" each real program, then rambles on into a next exemplar that the stop cuts off
    rules = [(asked(p["question"]), p["program"] + "\n\n\n\n\n\nQ: A made-up next question?") for p in PROGRAMS]
    runner = PALRunner(MockBackend(rules=rules))
    for program in PROGRAMS:
        result = runner.run(program["question"])
        assert result.status == "ok", result.trace.steps[-1].observation
        assert result.answer == str(program["answer"])
        assert answers_match(result.answer, program["answer"])
        generate, execute = result.trace.steps
        assert generate.completion == program["program"]
        assert execute.action == {"code": program["program"]}
        assert execute.data["sandbox"]["status"] == "ok"


def test_prompt_is_pals_math_prompt() -> None:
    prompt = PALRunner(MockBackend()).prompt("How many?")
    assert prompt.endswith("Q: How many?\n\n# solution in Python:\n\n\n")
    assert prompt.count("def solution():") == 8
    assert PALRunner(MockBackend()).config.stop == ("\n\n\n",)


@pytest.mark.parametrize(("completion", "status", "message"), [
    ("I am not sure how to solve this.", "no_code", "no Python code"),
    ("def solution(:\n    return 1", "sandbox_error", "SyntaxError"),
    ("def answer():\n    return 1", "sandbox_error", "solution"),
    ("def solution():\n    return lambda: 1", "sandbox_error", "cannot be returned"),
    ("def solution():\n    total = 3", "no_answer", "returned no value"),
    ("import os\ndef solution():\n    return os.getcwd()", "sandbox_forbidden", "import of 'os'"),
    ("def solution():\n    while True:\n        pass", "sandbox_timeout", "did not finish"),
    ("def solution():\n    return 1 / 0", "sandbox_error", "ZeroDivisionError"),
])
def test_bad_programs_end_in_a_status_not_an_exception(completion: str, status: str, message: str) -> None:
    result = PALRunner(MockBackend([completion]), timeout=0.5, constrained=False).run("q")
    assert (result.answer, result.status) == (None, status)
    execute = result.trace.steps[-1]
    assert execute.kind == "execute" and execute.data["status"] == status
    assert message in (execute.observation or "")
    assert result.trace.status == status


def test_fenced_code_from_a_chat_style_answer() -> None:
    completion = f"Here is the program:\n```python\n{GOOD}\n```\nIt returns 3."
    result = PALRunner(MockBackend([completion]), constrained=False).run("q")
    assert (result.answer, result.status) == ("3", "ok")


def test_self_consistency_over_executed_answers() -> None:
    samples = [GOOD, "def solution():\n    return 4", "def solution():\n    return undefined_name",
               "```python\ndef solution():\n    return 3.0\n```"]
    backend = MockBackend(samples)
    result = PALRunner(backend, n=4, constrained=False).run("q")
    assert len(backend.prompts) == 1
    assert result.answer == "3"  # 3 and 3.0 are one answer
    assert result.votes == {"3": 2, "4": 1}  # the failed program does not vote
    assert result.agreement == pytest.approx(2 / 4)
    assert [s.kind for s in result.trace.steps] == ["generate"] * 4 + ["execute"] * 4 + ["vote"]


def test_when_every_sample_fails_the_most_common_failure_is_the_status() -> None:
    samples = ["no code here", "def solution():\n    return 1/0", "def solution():\n    return 1/0"]
    result = PALRunner(MockBackend(samples), n=3, constrained=False).run("q")
    assert (result.answer, result.status, result.votes, result.agreement) == (None, "sandbox_error", {}, 0.0)


def test_retry_feeds_the_error_back() -> None:
    broken = "def solution():\n    return apples - 2"
    backend = MockBackend(rules=[(r"That program failed: NameError", GOOD)], default=broken)
    result = PALRunner(backend, max_retries=2, constrained=False).run("q")
    assert (result.answer, result.status) == ("3", "ok")
    assert [s.kind for s in result.trace.steps] == ["generate", "execute", "retry", "execute"]
    retry_prompt = backend.prompts[1]
    assert retry_prompt.startswith(backend.prompts[0] + broken)
    assert "# That program failed: NameError: name 'apples' is not defined (line 2)" in retry_prompt
    assert retry_prompt.endswith("# A corrected solution in Python:\n\n\n")


def test_retries_stop_at_max_retries() -> None:
    backend = MockBackend(default="nothing useful")
    result = PALRunner(backend, max_retries=1, constrained=False).run("q")
    assert result.status == "no_code"
    assert len(backend.prompts) == 2
    runner = PALRunner(MockBackend(default="nothing"), max_retries=0, constrained=False)
    assert runner.run("q").trace.steps[-1].kind == "execute"


def test_arun_gives_the_same_result() -> None:
    samples = [GOOD, GOOD, "def solution():\n    return 7"]
    sync = PALRunner(MockBackend(samples), n=3, constrained=False).run("q")
    async_ = asyncio.run(PALRunner(MockBackend(samples), n=3, constrained=False).arun("q"))
    assert (async_.answer, async_.votes, async_.status) == (sync.answer, sync.votes, sync.status)


@pytest.mark.parametrize(("value", "answer"), [
    (8, "8"), (8.0, "8"), (2.50, "2.5"), (-3, "-3"), ("$1,200", "1200"), ("Paris", "Paris"),
    (None, None), (True, "True"), ([1, 2], "[1, 2]"), ({"b": 1, "a": 2}, '{"a": 2, "b": 1}'),
])
def test_answer_from_value(value: Any, answer: str | None) -> None:
    assert answer_from_value(value) == answer
